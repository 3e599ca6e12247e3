"""An email subject is one line, by one rule (worker/decisions.py ONE_LINE) wherever a subject is written.

A line ends at any character str.splitlines breaks on: email.policy refuses a header value holding one, so a
subject with a vertical tab, a file separator or U+2028 (which passed the old CR/LF-only rule) could not be sent.
"""

from email.message import EmailMessage

import pytest

from handlers.proposed_actions import PROPOSAL
from worker.decisions import DecisionError, apply_edits
from worker.drafting import CollectionContext, EmailWording, template_draft
from worker.flows.recipients import one_line

BREAKS = [c for c in map(chr, range(0x3000)) if len(f"a{c}b".splitlines()) > 1]  # the stdlib's line ends
NOT_BREAKS = ["\t", "\x1f", "\xa0", "é"]


def test_the_rule_s_line_ends_are_what_the_email_package_refuses_in_a_header():
    assert [repr(c) for c in BREAKS] == ["'\\n'", "'\\x0b'", "'\\x0c'", "'\\r'", "'\\x1c'", "'\\x1d'", "'\\x1e'",
                                         "'\\x85'", "'\\u2028'", "'\\u2029'"]
    for c in BREAKS:
        with pytest.raises(ValueError, match="linefeed or carriage return"):
            EmailMessage()["Subject"] = f"Past due{c}Bcc: e@v.example"
    for c in NOT_BREAKS:
        EmailMessage()["Subject"] = f"Past due{c}ok"


def _proposed(subject):
    return PROPOSAL.validate_python({"kind": "propose_collection_email", "customer_id": "1", "to": ["ap@x.example"],
                                     "subject": subject, "body": "b"}).subject


def _worded(subject):
    return EmailWording(subject=subject, message="m" * 20).subject


def _edited(subject):
    return apply_edits({"subject": "Past due", "body": "b"}, {"subject": subject})[0]["subject"]


@pytest.mark.parametrize("write", [_proposed, _worded, _edited], ids=["api", "claude", "reviewer"])
@pytest.mark.parametrize("c", BREAKS, ids=repr)
def test_a_subject_with_any_line_end_is_refused_wherever_it_is_written(write, c):
    with pytest.raises((ValueError, DecisionError), match="pattern|one line"):
        write(f"Past due{c}Bcc: e@v.example")


@pytest.mark.parametrize("write", [_proposed, _worded, _edited], ids=["api", "claude", "reviewer"])
@pytest.mark.parametrize("c", NOT_BREAKS, ids=repr)
def test_other_characters_stay_allowed(write, c):
    assert write(f"Past due{c}ok") == f"Past due{c}ok"


@pytest.mark.parametrize("c", BREAKS, ids=repr)
def test_one_line_folds_every_line_end_so_the_template_subject_can_be_sent(c):
    assert one_line(f"Acme{c}Bcc: e@v.example") == "Acme Bcc: e@v.example"
    invoice = {"number": "INV-1", "po": None, "due_date": "2026-10-01", "days_past_due": 40, "bucket": "31-60",
               "amount_remaining": 120.0, "currency": "USD"}
    subject = template_draft(CollectionContext("1", f"Acme{c}Bcc: e@v.example", "ap@x.example", None,
                                               [invoice])).subject
    assert subject.startswith("Acme Bcc: e@v.example: 1 past-due invoice")
    EmailMessage()["Subject"] = subject

