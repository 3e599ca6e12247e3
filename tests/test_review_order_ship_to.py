"""The PO's ship-to on the order page, over real HTTP (audit CC5: it was parsed but never shown, edited or sent, so
NetSuite shipped a store's delivery to the customer's default address): the page shows the PO's bill-to and ship-to
as printed beside an editable ship-to box; approving sends the box as the sales order's shippingAddress (as printed,
as edited, or none when emptied); a box that cannot be read is refused beside it, nothing staged."""

from __future__ import annotations

import html
import re

from tests.review_seed import parsed_po
from tests.test_review_order_charges import (
    approved,
    db,
    mozzarella,
    po_queue,
    untouched,
)

SCRIPT = '<script>alert("pwn")</script>'
DC_2 = {"addressee": "Driscoll Foods DC 2", "addr1": "12 Dock Rd", "city": "Carlstadt", "state": "NJ", "zip": "07072",
        "country": {"id": "US"}}


def textarea(page: str) -> tuple[str, str]:
    """The ship-to box's opening tag and its text (the newline after the tag is not content, as browsers read it)."""
    found = re.search(r'(<textarea id="ship_to"[^>]*>)\n?(.*?)</textarea>', page, re.DOTALL)
    assert found, "no ship-to box"
    return found.group(1), html.unescape(found.group(2))


def approve(client, item, **changes):
    page = client.get(f"/review/orders/{item}").text
    return client.post(f"/review/orders/{item}/approve",
                       data=mozzarella(client, page, **{"ship_to": textarea(page)[1], "c0_off": "1"} | changes))


def test_the_page_shows_the_pos_addresses_as_printed_and_the_ship_to_box(server):
    parsed = parsed_po() | {"ship_to": [f"Store {SCRIPT}", "45 Harbor Rd", "Clifton, NJ 07011"]}
    server, item, client = po_queue(server, parsed)
    page = client.get(f"/review/orders/{item}").text
    assert SCRIPT not in page and "Store &lt;script&gt;alert(&#34;pwn&#34;)&lt;/script&gt;<br>" in page
    assert "<address>Driscoll Foods Inc.<br>400 Industrial Pkwy<br>Carlstadt NJ 07072<br></address>" in page
    tag, text = textarea(page)
    assert text == f"Store {SCRIPT}\n45 Harbor Rd\nClifton, NJ 07011"  # prefilled from the parse, escaped
    assert '<label for="ship_to">Ship to' in page and 'aria-describedby="ship_to-hint ship_to-read"' in tag
    assert "aria-invalid" not in tag and "autofocus" not in tag
    assert "Empty: NetSuite uses the customer's default shipping address." in page
    assert re.search(r'id="ship_to-read">NetSuite gets: name <b>Store &lt;script&gt;.*city <b>Clifton</b>', page)


def test_a_ship_to_the_page_cannot_read_is_said_before_approving(server):
    server, item, client = po_queue(server, parsed_po() | {"ship_to": ["Driscoll Foods DC 2", "12 Dock Rd"]})
    page = client.get(f"/review/orders/{item}").text
    assert 'id="ship_to-read">Cannot be sent as it stands: no city line' in page


def test_the_approved_sales_order_ships_to_the_pos_ship_to(server):
    server, item, client = po_queue(server, parsed_po())
    assert approve(client, item).status_code == 303
    payload, _event = approved(server, item)
    assert payload["shippingAddress"] == DC_2
    # The approved order's page shows the ship-to the sales order carries.
    page = client.get(f"/review/orders/{item}").text
    assert textarea(page)[1] == "Driscoll Foods DC 2\n12 Dock Rd\nCarlstadt, NJ 07072"
    assert 'It ships to <span class="approved-ship-to">Driscoll Foods DC 2, 12 Dock Rd, Carlstadt, NJ 07072</span>' \
        in page


def test_an_edited_ship_to_wins(server):
    server, item, client = po_queue(server, parsed_po())
    edited = "Driscoll Foods - Store 12\nAttn: Receiving\n45 Harbor Rd\nClifton, NJ 07011\nTel 973-555-0100"
    assert approve(client, item, ship_to=edited).status_code == 303
    payload, _event = approved(server, item)
    assert payload["shippingAddress"] == {
        "addressee": "Driscoll Foods - Store 12", "attention": "Receiving", "addr1": "45 Harbor Rd", "city": "Clifton",
        "state": "NJ", "zip": "07011", "addrPhone": "973-555-0100", "country": {"id": "US"}}
    assert "Driscoll Foods - Store 12, Attn: Receiving, 45 Harbor Rd" in client.get(f"/review/orders/{item}").text


def test_an_emptied_ship_to_sends_none(server):
    server, item, client = po_queue(server, parsed_po())
    assert approve(client, item, ship_to="  \r\n").status_code == 303
    payload, _event = approved(server, item)
    assert "shippingAddress" not in payload
    page = client.get(f"/review/orders/{item}").text
    assert textarea(page)[1] == "" and "It ships to the customer's default shipping address in NetSuite" in page


def test_an_unreadable_ship_to_is_refused_beside_the_box_and_nothing_is_staged(server):
    server, item, client = po_queue(server, parsed_po())
    typed = "Driscoll Foods - Store 12\n45 Harbor Rd\nClifton"
    refused = approve(client, item, ship_to=typed)
    assert refused.status_code == 422
    message = ("ship to: no city line: the last line &#39;Clifton&#39; is not read as &#39;City, ST 12345&#39; "
               "(US)")
    assert f'<li id="error-1"><a href="#ship_to">{message}' in refused.text  # the summary links to the box
    tag, text = textarea(refused.text)
    assert text == typed  # kept as typed, to be corrected
    assert 'aria-invalid="true"' in tag and 'aria-describedby="ship_to-hint ship_to-error"' in tag
    assert "autofocus" in tag and refused.text.count("autofocus") == 1
    assert f'<p class="error" id="ship_to-error">{message}' in refused.text
    untouched(server, item)
    assert db(server, "SELECT count(*) FROM proposed_actions") == [(0,)]


def test_a_form_without_the_box_sends_the_pos_ship_to(server):
    # A page loaded before the box existed posts none: the PO's ship-to is sent, as its charges are, never dropped.
    server, item, client = po_queue(server, parsed_po())
    page = client.get(f"/review/orders/{item}").text
    assert client.post(f"/review/orders/{item}/approve", data=mozzarella(client, page, c0_off="1")).status_code == 303
    assert approved(server, item)[0]["shippingAddress"] == DC_2
