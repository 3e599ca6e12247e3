"""The approve form and the observations form over real HTTP: a reassigned customer survives a 422, a malformed
row count or id is a 400 naming its field (never a 500), and a typed number is a plain decimal."""

from __future__ import annotations

import re

import pytest

from handlers.review.order_form import quoted_price, reviewed_order
from tests.review_seed import (
    NOW,
    add_observation,
    add_review_item,
    hidden,
    parsed_po,
    seed_reference,
    sign_in,
)
from tests.test_review_order_form import HEADER, RESOLVED, row
from tests.test_review_orders import approve_form, db, queue  # noqa: F401  (the live server with one PO)

MAX_ROWID = 2**63 - 1


def selected_customers(page: str) -> list[str]:
    select = re.search(r'<select name="customer_id".*?</select>', page, re.DOTALL)
    assert select, "no customer picker on the page"
    return re.findall(r'<option value="([^"]*)" selected', select.group(0))


def test_a_reassigned_customer_stays_chosen_when_the_form_comes_back_with_errors(queue):  # noqa: F811
    server, item, client = queue
    def crowd(conn):  # 50 customers named before "Harbor Street Deli": the page lists only the first 50 by name
        for i in range(50):
            conn.execute("INSERT INTO customers (ns_id, entity_id, company_name, last_modified) VALUES (?, ?, ?, ?)",
                         (f"90{i:02d}", f"A{i}", f"Acme {i:02d}", NOW))
        return add_review_item(conn, parsed=parsed_po(), pdf_key="po/df-40412.pdf")
    copy = server.run(server.env.db.write(crowd))
    assert 'value="3302"' not in client.get(f"/review/orders/{item}").text

    typo = client.post(f"/review/orders/{item}/approve",
                       data=approve_form(client, item, customer_id="3302", l1_item="5002", l1_price="61..00"))
    assert typo.status_code == 422 and "line 2: price" in typo.text
    assert selected_customers(typo.text) == ["3302"]  # was none selected: "— choose —"
    assert "Harbor Street Deli (3302)" in typo.text and "Driscoll Foods (1187)" in typo.text  # the item's own too

    # A copy of the PO for the reassigned customer: the 422 that offers "approve anyway" keeps the customer,
    # so ticking the box on that page approves it (it posted customer_id "" before).
    first = approve_form(client, item, customer_id="3302", l1_item="5002")
    assert client.post(f"/review/orders/{item}/approve", data=first).status_code == 303
    refused = client.post(f"/review/orders/{copy}/approve",
                          data=approve_form(client, copy, customer_id="3302", l1_item="5002"))
    assert refused.status_code == 422 and 'name="approve_duplicate"' in refused.text
    assert selected_customers(refused.text) == ["3302"]
    again = approve_form(client, copy, customer_id=selected_customers(refused.text)[0], l1_item="5002",
                         approve_duplicate="1", duplicate_of=hidden(refused.text, "duplicate_of"))
    assert client.post(f"/review/orders/{copy}/approve", data=again).status_code == 303
    assert db(server, "SELECT customer_id FROM review_items WHERE id = ?", (copy,)) == [("3302",)]


def test_a_posted_customer_that_is_not_live_is_not_offered(queue):  # noqa: F811
    server, item, client = queue
    server.run(server.env.db.write(lambda conn: conn.execute(
        "UPDATE customers SET deleted_at = ? WHERE ns_id = '2201'", (NOW,))))
    for customer in ("2201", "no-such"):
        page = client.post(f"/review/orders/{item}/approve",
                           data=approve_form(client, item, customer_id=customer, l1_price="61..00")).text
        assert selected_customers(page) == [] and f'value="{customer}"' not in page


@pytest.mark.parametrize("n", ["²", "١٢", "-1", "12x", "9" * 5000], ids=["superscript", "arabic", "negative", "12x",
                                                                      "5000-digits"])
def test_a_malformed_row_count_is_a_400_naming_it(queue, n):  # noqa: F811
    server, item, client = queue
    response = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, n=n))
    assert response.status_code == 400, response.text[:300]  # "²" and 5000 digits were a 500
    assert "n (the number of rows on the form): must be a whole number" in response.text
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]


def test_a_huge_row_count_is_refused_with_the_limit(queue):  # noqa: F811
    _server, item, client = queue
    response = client.post(f"/review/orders/{item}/approve", data=approve_form(client, item, n="99999999"))
    assert response.status_code == 422
    assert "the order has 99,999,999 rows; at most 500 can be approved from this page" in response.text


@pytest.mark.parametrize("data", [{"row": "²:rejected"}, {"row": f"{MAX_ROWID + 1}:rejected"},
                                  {"row": f"{'9' * 5000}:rejected"}, {"op": "rejected", "id": str(MAX_ROWID + 1)},
                                  {"op": "rejected", "id": "²"}, {"op": "rejected", "id": "-1"}],
                         ids=["row-superscript", "row-past-rowid", "row-5000-digits", "id-past-rowid", "id-superscript",
                              "id-negative"])
def test_an_observation_id_that_is_not_a_row_id_is_a_400_naming_the_field(server, data):
    client = sign_in(server.url)
    response = client.post("/review/observations", data={"csrf": client.csrf, **data})
    assert response.status_code == 400, response.text[:300]  # was a 500 (ValueError, OverflowError in sqlite3)
    field = "row" if "row" in data else "id"
    assert f"{field}: " in response.text and "not an observation id" in response.text


def test_the_largest_observation_id_is_looked_up(server):
    obs = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_observation(conn, "obs"))[1]))
    client = sign_in(server.url)
    missing = client.post("/review/observations", data={"csrf": client.csrf, "op": "rejected",
                                                        "id": [str(obs), str(MAX_ROWID)]})
    assert missing.status_code == 404 and f"observation {MAX_ROWID} does not exist" in missing.text


@pytest.mark.parametrize(("qty", "price", "message"), [
    ("1_2", "98.50", "line 1: quantity: Input should be a valid decimal"),  # was read as 12
    ("2", "6_1.00", "line 1: price: Input should be a valid decimal"),  # was read as 61
    ("2", "١٢", "line 1: price: Input should be a valid decimal"),  # Arabic-Indic digits
    ("2", "0x10", "line 1: price: Input should be a valid decimal"),
    ("2", "1,2_00.00", "line 1: price: Input should be a valid decimal"),
    ("2", "Infinity", "line 1: price: Input should be a finite number")])
def test_a_typed_number_is_a_plain_decimal(qty, price, message):
    order, errors = reviewed_order(HEADER, [{**row("1", "OIL-CAN-35"), "qty": qty, "price": price}], RESOLVED)
    assert order is None and errors == [message]
    assert quoted_price(price if qty == "2" else qty) is None  # nor checked against the price list


@pytest.mark.parametrize(("qty", "price"), [("1,200", "$1,234.50"), ("+3", ".5"), ("3.", "0.0345"), ("1E+2", "1e1")])
def test_plain_decimals_are_still_read(qty, price):
    order, errors = reviewed_order(HEADER, [{**row("1", "OIL-CAN-35"), "qty": qty, "price": price}], RESOLVED)
    assert errors == [] and order is not None


def test_an_underscored_price_is_refused_over_http_and_nothing_is_queued(queue):  # noqa: F811
    server, item, client = queue
    form = approve_form(client, item, l1_item="CHS-MOZZ-LMPS", l1_price="6_1.00", l0_qty="1_2")
    response = client.post(f"/review/orders/{item}/approve", data=form)
    assert response.status_code == 422
    assert "line 1: quantity: Input should be a valid decimal" in response.text
    assert "line 2: price: Input should be a valid decimal" in response.text
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]
    assert db(server, "SELECT status FROM review_items WHERE id = ?", (item,)) == [("pending",)]
