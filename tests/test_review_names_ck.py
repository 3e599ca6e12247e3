"""Two review follow-ups (2985998): POST /api/proposed-actions answers a review_url that keeps finding the action's
card once it is approved or rejected, or pushed off the list's first page (the lasting /review/actions/{id}); and on
the order page each line's fields and Drop box are named after their line, as its Item field is, so a screen reader
tabbing through the lines says which line it is in (WCAG 2.5.3: each name starts with the visible label, the
column header on a laptop included)."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.browser_support import sign_in_browser
from tests.helpers import TEST_INTAKE_TOKEN
from tests.review_seed import add_action, add_review_item, seed_reference, sign_in

AUTH = {"Authorization": f"Bearer {TEST_INTAKE_TOKEN}", "Content-Type": "application/json"}
DESKTOP, PHONE = {"width": 1366, "height": 900}, {"width": 375, "height": 800}


def propose(server, note: str, code: int = 201) -> dict:
    """A collection call proposed over the API, as a chat tool would (its note the Idempotency-Key): its body."""
    response = httpx.post(f"{server.url}/api/proposed-actions", headers={**AUTH, "Idempotency-Key": note},
                          timeout=30, content=json.dumps({"kind": "propose_collection_call", "customer_id": "2201",
                                                          "note": note}))
    assert response.status_code == code, response.text
    return response.json()


def follow(client: httpx.Client, review_url: str) -> httpx.Response:
    """What a reviewer's browser gets for the link (the fragment stays in the browser), redirects followed."""
    landed = client.get(review_url.split("#")[0], follow_redirects=True)
    assert landed.status_code == 200, landed.text
    return landed


def card(page: str, action: int) -> str:
    found = re.search(rf'<article class="card action" id="action-{action}">(.*?)</article>', page, re.DOTALL)
    assert found, f"no card for action {action}"
    return found.group(1)


def decide(client: httpx.Client, review_url: str, action: int, op: str, **extra: str) -> None:
    """Approve or reject the action on its card, reached by the link, as a reviewer does."""
    version = re.search(r'name="version" value="([^"]*)"', card(follow(client, review_url).text, action)).group(1)
    done = client.post(f"/review/actions/{action}", data={"csrf": client.csrf, "version": version, "op": op, **extra})
    assert done.status_code == 303, done.text


def test_review_url_finds_the_card_after_it_was_approved_or_rejected(server):
    server.run(server.env.db.write(seed_reference))
    approved, rejected = propose(server, "Call about INV-9"), propose(server, "Call about INV-12")
    for body in (approved, rejected):
        assert body["review_url"] == f"/review/actions/{body['id']}#action-{body['id']}"
    # 30 newer staged calls (a page's worth) push both off the first page of the staged list.
    server.run(server.env.db.write(lambda conn: [add_action(conn, "call_task", {"note": f"Call {n}"}, "2201")
                                                 for n in range(30)]))
    anonymous = httpx.get(server.url + approved["review_url"].split("#")[0], timeout=30)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == \
        f"/review/login?next=%2Freview%2Factions%2F{approved['id']}"  # signing in comes back to it
    client = sign_in(server.url)
    staged = follow(client, approved["review_url"])
    assert staged.url.params["status"] == "staged" and staged.url.fragment == f"action-{approved['id']}"
    assert "Call about INV-9" in card(staged.text, approved["id"])
    decide(client, approved["review_url"], approved["id"], "approve")
    decide(client, rejected["review_url"], rejected["id"], "reject", reason="Paid yesterday")
    retried = propose(server, "Call about INV-9", 200)  # a retry after the decision: the same link
    assert retried["status"] == "approved" and retried["review_url"] == approved["review_url"]
    for body, status in ((approved, "approved"), (rejected, "rejected")):
        landed = follow(client, body["review_url"])
        assert landed.url.params["status"] == status and landed.url.fragment == f"action-{body['id']}"
        card(landed.text, body["id"])


def test_the_api_documents_review_url_as_the_lasting_link(server):
    doc = httpx.get(server.url + "/schema/openapi.json", timeout=30).json()
    staged = doc["paths"]["/api/proposed-actions"]["post"]["responses"]["201"]["description"]
    assert "review_url" in staged and "/review/actions/{id}" in staged


# Each line's controls: (role, the input's name suffix, its accessible name less the line). The Item field lists
# NetSuite items (a datalist), so it is a combobox.
LINE_CONTROLS = [("combobox", "item", "Item for"), ("textbox", "desc", "Description of"),
                 ("textbox", "qty", "Quantity of"), ("textbox", "uom", "Unit of"),
                 ("textbox", "price", "Unit price of"), ("checkbox", "drop", "Drop")]
CHARGE_CONTROLS = [("textbox", "desc", "Description of charge {n}"), ("textbox", "amount", "Amount of charge {n}"),
                   ("combobox", "item", "NetSuite item for charge {n}"), ("checkbox", "off", "Leave charge {n} off")]
LINES_SHOWN = """() => ({
  head: [...document.querySelectorAll('#lines thead th')].map(th => th.textContent),
  first: [...document.querySelectorAll('#lines tbody tr')].map(tr => tr.cells[0].textContent),
  labels: [...document.querySelectorAll('#lines tbody tr:first-child td')].map(td => td.dataset.label || ''),
})"""


def named(page, role: str, name: str) -> str:
    """The name= of the one field of `role` whose accessible name is exactly `name`."""
    found = page.get_by_role(role, name=name, exact=True)
    assert found.count() == 1, f"{role} {name!r}: {found.count()} elements"
    return found.get_attribute("name")


def named_alike(context, page) -> list[str]:
    """Names Chromium's accessibility tree (what a screen reader is given) has for more than one form field."""
    nodes = context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    names = [n.get("name", {}).get("value") for n in nodes if n["role"]["value"] in ("textbox", "combobox", "checkbox")]
    return sorted({name for name in names if names.count(name) > 1})


def lines_named_after_themselves(page) -> list[str]:
    """Check each line's controls are named after it (numbered lines by number, the others as new line 1, 2, ...):
    the line names, in order."""
    numbers = page.locator("#lines input[type=hidden][name$='_no']").evaluate_all("es => es.map(e => e.value)")
    lines = []
    for i, no in enumerate(numbers):
        line = f"line {no}" if no else f"new line {i + 1 - sum(1 for n in numbers[:i] if n)}"
        for role, field, label in LINE_CONTROLS:
            assert named(page, role, f"{label} {line}") == f"l{i}_{field}"
        lines.append(line)
    return lines


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_each_order_lines_controls_are_named_after_their_line(server, browser, viewport):
    item = server.run(server.env.db.write(lambda conn: (seed_reference(conn), add_review_item(conn))[1]))
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in_browser(page, server.url)
    page.goto(f"{server.url}/review/orders/{item}")
    assert lines_named_after_themselves(page) == ["line 1", "line 2", "new line 1"]
    for generic in ("Description", "Quantity", "Unit", "Unit price"):  # the name every line's field had
        assert page.get_by_role("textbox", name=generic, exact=True).count() == 0
    assert page.get_by_role("checkbox", name="Drop line", exact=True).count() == 0
    for role, field, label in CHARGE_CONTROLS:  # the PO's freight: named after its charge already
        assert named(page, role, label.format(n=1)) == f"c0_{field}"
    assert named_alike(context, page) == []
    # What is seen is unchanged: the column headers, the line numbers, each field's label on a phone.
    shown = page.evaluate(LINES_SHOWN)
    assert shown == {
        "head": ["#", "Their code", "Item", "Description", "Quantity", "Unit", "Unit price", "Price check", "Drop"],
        "first": ["1", "2", "new"],
        "labels": ["Line", "Their code", "Item", "Description", "Quantity", "Unit", "Unit price", "", "Drop"]}
    # A field's column header on a laptop is the word its name starts with, as its label is on a phone (WCAG 2.5.3:
    # "Qty" over "Quantity of line 1" left a speech-input user saying the visible word without a match).
    for head, label in zip(shown["head"][1:], shown["labels"][1:], strict=True):
        assert head == label or not label, (head, label)
    # Rows added by hand are told apart too ("new line 2", ...), not all "new".
    page.fill("input[name=l2_desc]", "Parmesan wedge")
    with page.expect_navigation():
        page.get_by_role("button", name="Add 5 rows").click()
    assert lines_named_after_themselves(page)[2:] == [f"new line {n}" for n in range(1, 7)]
    assert page.input_value("input[name=l2_desc]") == "Parmesan wedge"
    assert named_alike(context, page) == []
    page.get_by_role("checkbox", name="Drop line 2", exact=True).check()  # a control found by its new name works
    assert page.is_checked("input[name=l1_drop]")
