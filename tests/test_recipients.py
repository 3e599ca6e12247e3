"""Who a collection email, call or dispute confirmation goes to: worker/flows/recipients.py and the call's phone."""

import pytest

from tests import ar_fixtures as fx
from worker.flows.collection_queries import examine
from worker.flows.recipients import pick_recipient


def test_a_payables_title_beats_an_earlier_one_that_only_says_accounts_or_billing():
    contacts = [("Jo Reyes", "jo@x.example", "Accounts Manager"), ("Lee Park", "lee@x.example", "Billing"),
                ("Dana Ortiz", "dana@x.example", "Accounts Payable Manager")]
    assert pick_recipient("main@x.example", contacts) == ("Dana Ortiz", "dana@x.example")
    assert pick_recipient("main@x.example", contacts[:2]) == ("Jo Reyes", "jo@x.example")  # else the first one


def test_receivables_never_beat_a_later_payables_contact():
    # The first title with "accounts" won: an email about what the customer owes went to its own AR clerk.
    contacts = [("Jo Reyes", "jo@x.example", "Accounts Receivable Specialist"),
                ("Dana Ortiz", "dana@x.example", "Accounts Payable Manager")]
    assert pick_recipient("main@x.example", contacts) == ("Dana Ortiz", "dana@x.example")


@pytest.mark.parametrize("title", ["Accounts Receivable Specialist", "A/R Accountant", "Receivables Clerk",
                                   "Key Accounts Manager", "National Accounts Director", "Strategic Account Lead"])
def test_receivables_and_sales_accounts_are_not_accounts_payable(title):
    # "Key Accounts Manager" (sales) took the collection email from the customer's own ap@ mailbox.
    assert pick_recipient("ap@x.example", [("Kim Cho", "kim@x.example", title)]) == (None, "ap@x.example")


@pytest.mark.parametrize("title", ["AP/AR Clerk", "Accounts Payable & Receivable"])
def test_a_title_naming_payables_and_receivables_is_accounts_payable(title):
    assert pick_recipient("ap@x.example", [("Kim Cho", "kim@x.example", title)]) == ("Kim Cho", "kim@x.example")


@pytest.mark.parametrize("gone", [{"deleted_at": "2026-01-02T00:00:00Z"}, {"inactive": True}])
async def test_the_call_never_takes_the_phone_of_a_deleted_or_inactive_contact_sharing_the_email(env, gone):
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="ap@driscoll.example", credit_limit=100_000.0)
        conn.execute("UPDATE customers SET phone = '+1 555 111 0000' WHERE ns_id = '1187'")
        fx.contact(conn, "c0", "1187", "Old Bob", "AP@driscoll.example", title="Buyer", **gone)
        conn.execute("UPDATE customer_contacts SET phone = '+1 555 000 9999' WHERE ns_id = 'c0'")
    await env.db.write(rows)
    situation = await env.db.read_sync(examine, "1187", None)
    assert (situation.email, situation.to_name, situation.phone) == ("ap@driscoll.example", None, "+1 555 111 0000")
    # A live contact at that address is the one to call.
    await env.db.write(lambda conn: fx.contact(conn, "c1", "1187", "Maria Lopez", "ap@driscoll.example"))
    await env.db.write(lambda conn: conn.execute("UPDATE customer_contacts SET phone = '+1 555 222 0000' "
                                                 "WHERE ns_id = 'c1'"))
    assert (await env.db.read_sync(examine, "1187", None)).phone == "+1 555 222 0000"


@pytest.mark.parametrize("stored", ["maria@driscoll.example", "maria@driscoll.example ", " Maria@Driscoll.example"])
async def test_the_call_takes_the_chosen_contacts_phone_however_its_email_is_stored(env, stored):
    # The recipient is the address as written once cleaned ("maria@… " without its space); the phone was looked up
    # with the cleaned address against the stored one, so a trailing space gave the call the customer's phone.
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscoll.example", credit_limit=100_000.0)
        conn.execute("UPDATE customers SET phone = '+1 555 111 0000' WHERE ns_id = '1187'")
        fx.contact(conn, "c1", "1187", "Maria Lopez", stored, title="Accounts Payable")
        conn.execute("UPDATE customer_contacts SET phone = '+1 973 555 0101' WHERE ns_id = 'c1'")
    await env.db.write(rows)
    situation = await env.db.read_sync(examine, "1187", None)
    assert (situation.to_name, situation.phone) == ("Maria Lopez", "+1 973 555 0101")
