"""Which addresses a draft may go to beyond ASCII (worker/flows/recipients.py mail_address).

A non-ASCII local part ("josé@", RFC 6531) is refused: it has no ASCII form, so only SMTPUTF8 on every hop
delivers it, and the contact is passed over for the next choice. A non-ASCII domain is kept as written (it has
an ASCII form, IDNA, for a sender without SMTPUTF8). Whitespace inside an address is never silently dropped.
"""

from email.headerregistry import Address

import pytest

from tests import ar_fixtures as fx
from worker.flows import recipients
from worker.flows.collection_queries import examine
from worker.flows.recipients import mail_address, pick_recipient


@pytest.mark.parametrize("email", ["josé@example.com", '"josé"@example.com', "jo.sé@bücher.de", "用户@例子.广告"])
def test_a_non_ascii_local_part_is_no_address(email):
    assert mail_address(email) is None


def test_a_contact_with_a_non_ascii_local_part_is_passed_over_for_the_next_choice():
    contacts = [("José Ruiz", "josé@x.example", "Accounts Payable"), ("Lee Park", "lee@x.example", "A/P Clerk")]
    assert pick_recipient("main@x.example", contacts) == ("Lee Park", "lee@x.example")
    assert pick_recipient("main@x.example", contacts[:1]) == (None, "main@x.example")


def test_a_non_ascii_local_part_stays_refused_when_the_stdlib_accepts_it(monkeypatch):
    # CPython gh-81074 lets Address take a non-ASCII addr_spec; built from its parts, as later versions parse it.
    def accepting(addr_spec):
        username, _, domain = addr_spec.rpartition("@")
        return Address(username=username, domain=domain)
    monkeypatch.setattr(recipients, "Address", accepting)
    assert mail_address("ap@x.example") == "ap@x.example"
    assert mail_address("josé@example.com") is None


@pytest.mark.parametrize("email", ["ap@bücher.de", "jose@例子.广告", "ap@xn--bcher-kva.de"])
def test_a_non_ascii_domain_is_kept_as_written(email):
    assert mail_address(email) == email
    assert pick_recipient(None, [("Dana Ortiz", email, "Accounts Payable")]) == ("Dana Ortiz", email)


@pytest.mark.parametrize("space", ["\xa0", "\u2028", "\u2029", "\x85", "\u3000", "\u2009", "\u202f"], ids=repr)
def test_whitespace_inside_an_address_is_no_address(space):
    # The stdlib read "ap@x\u00a0y.example" as ap@xy.example: a draft went to a domain nobody wrote.
    assert mail_address(f"ap@x{space}y.example") is None
    assert mail_address(f"ap@x.ex{space}ample") is None
    assert mail_address(f"ap@x.example{space}") == "ap@x.example"  # around it is stripped, as before


@pytest.mark.parametrize("email", ["ap@", "ap@ ", "ap@[x.example", "ap@[10.0.0.1"])
def test_a_malformed_address_the_stdlib_trips_on_is_no_address(email):
    # Address raised IndexError / AttributeError here: the customer's collection plan failed on a contact's typo.
    assert mail_address(email) is None
    contacts = [("Dana Ortiz", email, "Accounts Payable"), ("Lee Park", "lee@x.example", "Billing")]
    assert pick_recipient("main@x.example", contacts) == ("Lee Park", "lee@x.example")


async def test_a_contact_s_typo_does_not_stop_the_customer_s_plan(env):
    def rows(conn):
        fx.customer(conn, "1187", "Driscoll Foods", email="orders@driscoll.example", credit_limit=100_000.0)
        fx.contact(conn, "c1", "1187", "Maria Lopez", "maria@", title="Accounts Payable")
    await env.db.write(rows)
    situation = await env.db.read_sync(examine, "1187", None)
    assert (situation.to_name, situation.email) == (None, "orders@driscoll.example")
