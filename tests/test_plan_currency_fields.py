"""A collection plan's payload amounts name their currency, and the Actions tab shows them in it.

The hold's `credit_limit` and `net_exposure` and the email's `on_account` are in the customer's primary currency
(the credit limit's), `past_due_total` in US dollars: `credit_limit: 5000` alone could be CAD or USD to a reviewer
and to whatever executes the action. Payloads staged before the fields existed still render.
"""

from handlers.review.payload_text import describe_payload
from tests.review_seed import add_action, seed_reference, sign_in
from tests.test_collection_currency import CAD, limited


async def test_the_hold_names_the_currency_of_its_limit_and_exposure(env):
    hold = (await limited(env, CAD, [(6_000.0, "CAD")]))["service_hold"]["payload"]
    assert (hold["credit_limit"], hold["net_exposure"], hold["currency"]) == (5_000.0, 6_000.0, "CAD")
    fields = dict(describe_payload("service_hold", hold)["fields"])
    assert (fields["credit limit"], fields["net exposure"]) == ("CAD 5,000.00", "CAD 6,000.00")
    assert "currency" not in fields  # said with the amounts


async def test_a_us_dollar_hold_names_us_dollars(env):
    hold = (await limited(env, None, [(6_000.0, "USD")]))["service_hold"]["payload"]
    assert hold["currency"] == "USD"
    assert dict(describe_payload("service_hold", hold)["fields"])["credit limit"] == "$5,000.00"


async def test_the_email_names_the_currency_of_the_money_on_account(env):
    actions = await limited(env, CAD, [(4_000.0, "CAD")], on_account=[(300.0, "CAD")])
    email = actions["send_collection_email"]["payload"]
    assert (email["on_account"], email["on_account_currency"]) == (300.0, "CAD")
    assert (email["past_due_total"], email["past_due_total_currency"]) == (0.0, "USD")  # the US-dollar part
    fields = dict(describe_payload("send_collection_email", email)["fields"])
    assert (fields["on account"], fields["past due total"]) == ("CAD 300.00", "$0.00")
    assert not {"on account currency", "past due total currency"} & set(fields)


def test_an_old_payload_without_the_currency_still_renders_on_the_actions_tab(server):
    old_hold = {"customer_id": "1187", "plan": "abc", "reason": "open AR CAD 6,000.00 is over the credit limit "
                "CAD 5,000.00", "credit_limit": 5000.0, "net_exposure": 6000.0, "invoices": []}
    old_email = {"customer_id": "1187", "plan": "abc", "to": "ap@driscollfoods.com", "subject": "Past due",
                 "body": "Hello", "past_due_total": 1200.0, "on_account": 0, "invoices": []}
    new_hold = {**old_hold, "credit_limit": None, "net_exposure": 7000.0, "currency": "Canadian Dollar"}

    def seed(conn):
        seed_reference(conn)
        return [add_action(conn, kind, payload) for kind, payload in
                (("service_hold", old_hold), ("send_collection_email", old_email), ("service_hold", new_hold))]
    server.run(server.env.db.write(seed))
    page = sign_in(server.url).get("/review/actions")
    assert page.status_code == 200
    for shown in ("<dt>credit limit</dt><dd>5,000.00 (currency not recorded)</dd>",
                  "<dt>net exposure</dt><dd>6,000.00 (currency not recorded)</dd>",
                  "<dt>past due total</dt><dd>1,200.00 (currency not recorded)</dd>",
                  "<dt>on account</dt><dd>0.00 (currency not recorded)</dd>",
                  "<dt>credit limit</dt><dd></dd>",  # a blank limit (none) stays blank
                  "<dt>net exposure</dt><dd>CAD 7,000.00</dd>"):
        assert shown in page.text
