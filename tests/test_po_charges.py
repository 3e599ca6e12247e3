"""Charges, discounts and payments in a PO's totals and item table (SPEC 5: discounts are other_charges with
negative amounts). The review form carries parsed charges onto the sales order, so a misread one is money on it:
a payment printed after the total is no discount and the balance after it no total (BA1), "Discounted subtotal"
is no discount (BA2), a discount printed positive is taken off wherever it is printed (BA3), "Shipping discount"
is no freight and "Credit card fee" no credit (BA4), a page footer's charge is charged once (BA5), and a charge
printed above the subtotal may be inside it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from handlers.review.order_form import charges_from_parsed
from tests.po.holdout.draw import RL
from worker.po.model import Charge, POLine, PurchaseOrder, validate_order
from worker.po.parser import ParseHints, parse_purchase_orders
from worker.po.textlayer import extract_pdf

ITEMS = [("10021", "Chicken breast 4oz IQF", "10", "CS", "85.40", "854.00"),
         ("20455", "Fryer oil 35 lb", "5", "CS", "42.00", "210.00"),
         ("30112", "Napkins 1/4 fold white", "4", "CS", "33.10", "132.40"),
         ("40991", "Romaine hearts 12 ct", "12", "CS", "27.15", "325.80"),
         ("51002", "Eggs large loose", "15", "CS", "32.00", "480.00")]  # 2,002.20
COLS = [(40, "l"), (100, "l"), (360, "r"), (372, "l"), (480, "r"), (565, "r")]


def _pdf(totals: list[tuple[str, str]], items: list[tuple[str, ...]] = ITEMS, pages: int = 1,
         footer: list[tuple[str, str]] = ()) -> bytes:
    """An order over `pages` pages, `footer` printed at the foot of each page, then the totals (label, value)."""
    d = RL()
    per = (len(items) + pages - 1) // pages
    y = 0
    for p in range(pages):
        if p:
            d.page()
        d.t(40, 48, "Harbor Grill LLC", "Helvetica-Bold", 15)
        d.t(400, 70, "PO Number: HG-55102")
        d.t(400, 82, "PO Date: 03/02/2026")
        for (x, a), head in zip(COLS, ("Item #", "Description", "Qty", "UOM", "Unit Price", "Amount"), strict=True):
            d.t(x, 130, head, "Helvetica-Bold", 9, a)
        y = 146
        for item in items[p * per:(p + 1) * per]:
            for (x, a), v in zip(COLS, item, strict=True):
                d.t(x, y, v, align=a)
            y += 14
        for i, (label, v) in enumerate(footer):
            d.t(480, 700 + 13 * i, label, align="r")
            d.t(565, 700 + 13 * i, v, align="r")
        d.t(300, 740, f"Page {p + 1} of {pages}", align="c")
    y += 14
    for label, v in totals:
        d.t(480, y, label, align="r")
        d.t(565, y, v, align="r")
        y += 13
    return d.done()


def _parse(pdf: bytes) -> PurchaseOrder:
    [part] = parse_purchase_orders(extract_pdf(pdf, 50), ParseHints(today=date(2026, 3, 3)))
    return part.po


def _charges(po: PurchaseOrder) -> list[tuple[str, Decimal]]:
    return [(c.description, c.amount) for c in po.other_charges]


def _codes(po: PurchaseOrder) -> list[str]:
    return [f.code for f in po.findings]


def _rows(*charges: tuple[str, str]) -> list[tuple[str, ...]]:
    """The items, then charge rows printed in the item table (a description and an amount)."""
    return ITEMS + [("", label, "", "", "", v) for label, v in charges]


SUB = ("Subtotal", "2,002.20")
TOTAL = ("Total", "2,002.20")


# BA1: a payment printed after the total is neither a discount nor does the balance after it replace the total.

@pytest.mark.parametrize("totals", [
    [SUB, TOTAL, ("Deposit paid", "-500.00"), ("Balance due", "1,502.20")],
    [SUB, TOTAL, ("Deposit paid", "500.00"), ("Balance due", "1,502.20")],
    [SUB, TOTAL, ("Less: payment received", "500.00"), ("Balance due", "1,502.20")],
    [SUB, ("Order total", "2,002.20"), ("Less deposit", "500.00"), ("Amount due", "1,502.20")],
    [SUB, TOTAL, ("Credit applied", "-500.00"), ("Balance due", "1,502.20")],
    [SUB, TOTAL, ("Amount paid", "500.00"), ("Total due", "1,502.20")],
], ids=["deposit-negative", "deposit-positive", "less-payment", "less-deposit", "credit-applied", "amount-paid"])
def test_a_payment_after_the_total_is_no_discount_and_the_balance_no_total(totals) -> None:
    po = _parse(_pdf(totals))
    assert (po.subtotal, po.total, _charges(po)) == (Decimal("2002.20"), Decimal("2002.20"), [])
    assert _codes(po) == ["payment_on_po"]
    assert "500.00" in po.findings[0].message and "1502.20" in po.findings[0].message
    assert charges_from_parsed(json.loads(po.model_dump_json())) == []  # nothing taken off the sales order


def test_without_a_total_the_balance_after_a_payment_is_not_taken_for_one() -> None:
    po = _parse(_pdf([SUB, ("Deposit paid", "-500.00"), ("Balance due", "1,502.20")]))
    assert (po.subtotal, po.total, _charges(po)) == (Decimal("2002.20"), None, [])
    assert _codes(po) == ["payment_on_po"]
    assert "total (before payments) is not printed" in po.findings[0].message


@pytest.mark.parametrize("label", ["Deposit paid", "Credit applied", "Amount paid"])
def test_a_payment_row_in_the_item_table_is_neither_an_item_nor_a_charge(label) -> None:
    po = _parse(_pdf([TOTAL], items=_rows((label, "500.00"))))
    assert (len(po.lines), po.total, _charges(po), _codes(po)) == (5, Decimal("2002.20"), [], ["payment_on_po"])


@pytest.mark.parametrize("label,value,charges,freight", [
    ("Early payment discount", "40.04", [("Early payment discount", Decimal("-40.04"))], None),
    ("Bottle deposit", "12.00", [("Bottle deposit", Decimal("12.00"))], None),
    ("Pallet deposit", "20.00", [("Pallet deposit", Decimal("20.00"))], None),
    ("Freight prepaid", "12.00", [], Decimal("12.00")),
])
def test_charges_that_name_a_payment_or_deposit_are_still_charges(label, value, charges, freight) -> None:
    total = Decimal("2002.20") + sum((a for _, a in charges), freight or Decimal(0))
    po = _parse(_pdf([SUB, (label, value), ("Total", f"{total:,}")]))
    assert (_charges(po), po.freight, po.total, _codes(po)) == (charges, freight, total, [])


def test_payment_terms_are_no_payment() -> None:
    po = _parse(_pdf([SUB, TOTAL, ("Payment: Net", "30")]))
    assert (po.total, _charges(po), _codes(po)) == (Decimal("2002.20"), [], [])


def test_a_balance_due_does_not_replace_an_earlier_total() -> None:
    """A payment the parser does not know ("Visa ****1234") stands between: the total check says so."""
    po = _parse(_pdf([SUB, TOTAL, ("Visa ****1234", "-500.00"), ("Balance due", "1,502.20")]))
    assert po.total == Decimal("2002.20")


def test_a_later_amount_due_that_adds_tax_still_replaces_the_total() -> None:
    po = _parse(_pdf([SUB, TOTAL, ("Sales tax", "165.18"), ("Amount due", "2,167.38")]))
    assert (po.tax, po.total, _codes(po)) == (Decimal("165.18"), Decimal("2167.38"), [])


# BA2: "discount" as a whole word naming the row; a net amount after a discount is no discount.

@pytest.mark.parametrize("net", [("Discounted subtotal", "1,962.16"), ("Amount after discount", "1,962.16"),
                                 ("Subtotal less discount", "1,962.16"), ("Discount savings", "40.04"),
                                 ("Discounted price", "1,962.16")])
def test_a_net_amount_after_a_discount_is_not_a_discount(net) -> None:
    po = _parse(_pdf([SUB, ("Discount 2%", "40.04"), net, ("Total", "1,962.16")]))
    assert (_charges(po), po.total, _codes(po)) == ([("Discount 2%", Decimal("-40.04"))], Decimal("1962.16"), [])


# BA3: a discount printed positive on an item-table row is taken off, as in the totals area.

@pytest.mark.parametrize("label", ["Less 2% discount", "Early pay discount"])
def test_a_discount_row_printed_positive_in_the_item_table_is_negative(label) -> None:
    po = _parse(_pdf([SUB, ("Total", "1,962.16")], items=_rows((label, "40.04"))))
    assert (len(po.lines), _charges(po), _codes(po)) == (5, [(label, Decimal("-40.04"))], [])


# BA4: a freight discount is a discount, a credit-card fee a surcharge; descriptions stay whole.

@pytest.mark.parametrize("label", ["Shipping discount", "Freight allowance", "Delivery credit"])
def test_a_freight_discount_is_a_discount_not_freight(label) -> None:
    po = _parse(_pdf([SUB, (label, "25.00"), ("Total", "1,977.20")]))
    assert (po.freight, _charges(po), _codes(po)) == (None, [(label, Decimal("-25.00"))], [])


@pytest.mark.parametrize("label,value,amount", [
    ("Credit card fee (3%)", "60.07", Decimal("60.07")),
    ("Credit card surcharge", "60.07", Decimal("60.07")),
    ("Promo credit", "(50.00)", Decimal("-50.00")),
    ("Discount (2%)", "-40.04", Decimal("-40.04")),
    ("Discounts", "40.04", Decimal("-40.04")),
    ("Volume rebates", "40.04", Decimal("-40.04")),
])
def test_a_charge_keeps_its_whole_label_and_the_sign_its_name_gives(label, value, amount) -> None:
    po = _parse(_pdf([SUB, (label, value), ("Total", f"{Decimal('2002.20') + amount:,}")]))
    assert (_charges(po), _codes(po)) == ([(label, amount)], [])


# BA5: a charge in every page's footer is one charge.

def test_a_charge_repeated_in_each_page_footer_is_charged_once() -> None:
    po = _parse(_pdf([SUB, ("Total", "2,014.70")], pages=2, footer=[("Fuel surcharge", "12.50")]))
    assert (len(po.lines), _charges(po), _codes(po)) == (5, [("Fuel surcharge", Decimal("12.50"))], [])


def test_freight_repeated_in_each_page_footer_beside_the_totals_is_freight_once() -> None:
    po = _parse(_pdf([SUB, ("Freight", "45.00"), ("Total", "2,047.20")], pages=2, footer=[("Freight", "45.00")]))
    assert (po.freight, _charges(po), _codes(po)) == (Decimal("45.00"), [], [])


# A charge printed above the subtotal may be inside it.

@pytest.mark.parametrize("charge,subtotal,total", [
    (("Discount (2%)", "-40.04"), "1,962.16", "1,962.16"),
    (("Fuel surcharge", "12.50"), "2,014.70", "2,014.70"),
])
def test_a_charge_above_the_subtotal_that_it_includes_is_not_counted_twice(charge, subtotal, total) -> None:
    po = _parse(_pdf([charge, ("Subtotal", subtotal), ("Total", total)]))
    assert len(po.other_charges) == 1 and _codes(po) == []


def _order(subtotal: str, total: str, *, above: bool = True) -> PurchaseOrder:
    return PurchaseOrder(lines=[POLine(line_no=1, quantity=Decimal(1), unit_price=Decimal(100), amount=Decimal(100))],
                         other_charges=[Charge(description="Fuel surcharge", amount=Decimal(10), above_subtotal=above)],
                         subtotal=Decimal(subtotal), total=Decimal(total), po_number="1")


@pytest.mark.parametrize("subtotal,total,codes", [
    ("110.00", "110.00", []),  # inside the subtotal
    ("100.00", "110.00", []),  # printed above it, added after it
    ("105.00", "115.00", ["subtotal_mismatch"]),
    ("110.00", "120.00", ["total_mismatch"]),  # counted twice
])
def test_the_printed_subtotal_says_whether_the_charges_above_it_are_inside(subtotal, total, codes) -> None:
    assert [f.code for f in validate_order(_order(subtotal, total), today=date(2026, 3, 3))] == codes


def test_a_charge_printed_after_the_subtotal_is_never_inside_it() -> None:
    codes = [f.code for f in validate_order(_order("110.00", "110.00", above=False), today=date(2026, 3, 3))]
    assert codes == ["subtotal_mismatch", "total_mismatch"]


def test_the_parser_note_stays_out_of_the_json() -> None:
    assert "above_subtotal" not in _order("110.00", "110.00").model_dump_json()


# A fee in the totals is a charge ("Payment processing fee" was not read, so the total check flagged a gap), and a
# customer's credit limit or available credit printed beside the totals is no credit given on this order.

@pytest.mark.parametrize("label", ["Payment processing fee", "Service fee", "Fees"])
def test_a_fee_in_the_totals_is_a_surcharge(label) -> None:
    po = _parse(_pdf([SUB, (label, "12.00"), ("Total", "2,014.20")]))
    assert (_charges(po), _codes(po)) == ([(label, Decimal("12.00"))], [])


@pytest.mark.parametrize("label", ["Credit limit", "Credit limits", "Available credit"])
def test_a_credit_limit_beside_the_totals_is_no_discount(label) -> None:
    po = _parse(_pdf([SUB, (label, "5,000.00"), ("Total", "2,002.20")]))
    assert (po.total, _charges(po), _codes(po)) == (Decimal("2002.20"), [], [])


@pytest.mark.parametrize("label,value", [("Service fee waived", "10.00"), ("Card processing fee waived", "60.07"),
                                         ("Late fee of", "$25.00 applies to past-due invoices")])
def test_a_fee_waived_or_announced_is_no_charge(label, value) -> None:
    po = _parse(_pdf([SUB, (label, value), ("Total", "2,002.20")]))
    assert (po.total, _charges(po), _codes(po)) == (Decimal("2002.20"), [], [])


@pytest.mark.parametrize("label", ["Coupon applied", "Credit line adjustment", "10% discount applies", "Discount of"])
def test_a_coupon_applied_or_a_credit_line_adjustment_is_a_discount(label) -> None:
    po = _parse(_pdf([SUB, (label, "-20.00"), ("Total", "1,982.20")]))
    assert (po.total, _charges(po), _codes(po)) == (Decimal("1982.20"), [(label, Decimal("-20.00"))], [])


@pytest.mark.parametrize("label", ["Will call fee", "Fuel surcharge (if applicable)"])
def test_a_charge_whose_name_reads_like_a_condition_is_charged(label) -> None:
    po = _parse(_pdf([SUB, (label, "15.00"), ("Total", "2,017.20")]))
    assert (po.total, _charges(po), _codes(po)) == (Decimal("2017.20"), [(label, Decimal("15.00"))], [])
