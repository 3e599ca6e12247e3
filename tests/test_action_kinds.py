"""The Actions tab's kind labels, Kind menu and Kind filter (handlers/review/action_kinds.py), tested directly."""

from __future__ import annotations

from handlers.review.action_kinds import LABELS, kind_filter, kind_options, label


def test_each_pair_of_raw_kinds_shares_one_label():
    assert label("collection_email") == label("send_collection_email") == "Collection email"
    assert label("call_task") == label("schedule_collection_call") == "Call task"
    assert label("dispute_confirmation") == label("send_dispute_confirmation") == "Dispute confirmation"
    assert label("create_sales_order") == "Sales order for NetSuite"
    assert label("create_customer") == "New customer"


def test_a_kind_without_a_label_is_its_name_made_readable():
    assert label("log_dispute") == "Log dispute"
    assert label("review_quote_pricing") == "Review quote pricing"
    assert label("") == ""


def test_a_labelled_kind_filters_on_its_label_even_when_none_is_listed_now():
    # Not in `known` (nothing staged of it yet): LABELS still says which kinds its label stands for.
    assert kind_filter("call_task", []) == ("Call task", ["call_task", "schedule_collection_call"])
    assert kind_filter("Dispute confirmation", ["log_dispute"]) == (
        "Dispute confirmation", ["dispute_confirmation", "send_dispute_confirmation"])


def test_the_menu_lists_one_label_per_kind_and_keeps_the_active_filter():
    assert kind_options(["send_collection_email", "collection_email", "call_task"], "") == [
        "Call task", "Collection email"]
    assert kind_options(["call_task"], "Service hold") == ["Call task", "Service hold"]
    assert kind_options([], "") == []


def test_every_label_in_the_menu_filters_back_to_the_kinds_shown_under_it():
    known = list(LABELS) + ["log_dispute"]
    for shown in kind_options(known, ""):
        group, kinds = kind_filter(shown, known)
        assert group == shown and kinds and {label(k) for k in kinds} == {shown}
