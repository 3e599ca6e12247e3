"""Drafted emails are addressed from mirrored NetSuite data: a line break there must not become a header of its own.

Nothing here sends mail yet; whatever sender is added takes `to`, `to_name` and `subject` from the payloads these
build, so they are one line and one address each (worker/flows/recipients.py, worker/drafting.py, decisions).
"""

import pytest

from worker.decisions import DecisionError, apply_edits
from worker.drafting import CollectionContext, template_draft
from worker.flows.recipients import mail_address, pick_recipient

INJECTED = "ap@x.example\r\nBcc: everyone@elsewhere.example"


@pytest.mark.parametrize("email", [INJECTED, "ap@x.example\nBcc: e@v.example", "ap@x.example, ar@x.example",
                                   "Jo <ap@x.example>", "no-at-sign", "a@b@c.example", "", "   ", None])
def test_anything_but_one_address_is_no_address(email):
    assert mail_address(email) is None


@pytest.mark.parametrize("email, address", [("ap@x.example", "ap@x.example"), (" ap@x.example ", "ap@x.example"),
                                            ("ap@x.example\n", "ap@x.example")])
def test_one_address_is_kept_as_written(email, address):
    assert mail_address(email) == address


def test_a_payables_contact_whose_email_carries_a_header_is_passed_over():
    contacts = [("Dana Ortiz", INJECTED, "Accounts Payable Manager"), ("Lee Park", "lee@x.example", "A/P Clerk")]
    assert pick_recipient("main@x.example", contacts) == ("Lee Park", "lee@x.example")
    assert pick_recipient("main@x.example", contacts[:1]) == (None, "main@x.example")
    assert pick_recipient(INJECTED, contacts[:1]) == (None, None)  # nobody to write to, said as such


def test_a_contact_name_with_a_line_break_is_one_line():
    contacts = [("Dana\r\nBcc: e@v.example", "dana@x.example", "Accounts Payable")]
    assert pick_recipient(None, contacts) == ("Dana Bcc: e@v.example", "dana@x.example")


def test_the_template_subject_is_one_line_whatever_the_company_name():
    invoice = {"number": "INV-1", "po": None, "due_date": "2026-10-01", "days_past_due": 40, "bucket": "31-60",
               "amount_remaining": 120.0, "currency": "USD"}
    draft = template_draft(CollectionContext("1", "Acme\r\nBcc: e@v.example", "ap@x.example", None, [invoice]))
    assert "\n" not in draft.subject and "\r" not in draft.subject
    assert draft.subject.startswith("Acme Bcc: e@v.example: 1 past-due invoice")


def test_a_reviewer_cannot_save_a_subject_of_two_lines():
    with pytest.raises(DecisionError, match="subject must be one line"):
        apply_edits({"subject": "Past due", "body": "b"}, {"subject": "Past due\r\nBcc: e@v.example"})
    assert apply_edits({"subject": "Past due", "body": "b"}, {"body": "line one\r\nline two"})[1] == ["body"]
