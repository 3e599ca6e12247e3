"""Pure, layout-aware parsing of an extracted PDF text layer into a PurchaseOrder."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from worker.po.doc import Line, doc_lines
from worker.po.header import (document_day_first, find_blocks, find_dates, find_letterhead, find_po_number,
                              norm_name, po_numbers)
from worker.po.model import LINE_PROBLEMS, Charge, Finding, POLine, PurchaseOrder, totals_add_up, validate_order
from worker.po.money_words import FREIGHT_ROW, is_discount
from worker.po.table import TableResult, parse_table, table_start
from worker.po.textlayer import ExtractedPdf, PageText
from worker.po.totals import Printed, SetAside, parse_totals, printed_name
from worker.po.values import currency_by_address, decimal_comma_style, detect_currency, price_unit, unread_cells

OUR_NAMES = ("gfs", "gulf food service", "gulf foodservice", "gulf food services")
SEVERAL_POS = "several_po_numbers"  # parse_purchase_order given a PDF holding several orders
LINES_OUTSIDE_TABLE = "lines_outside_table"
PAYMENT_ON_PO = "payment_on_po"
# A tax total printed ("Total tax 9.00") that its tax lines do not add up to: the printed total is taken as the tax.
TAX_LINES_DIFFER = "tax_lines_differ"
# A freight beside its label that may be no money (a year, a weekday's day, a truckload's count, a range of days) and
# that nothing proves or disproves (no total printed, or one adding up neither way): not read, but never silently.
FREIGHT_SET_ASIDE = "freight_set_aside"
# A line that prints no unit for its quantity but a weight for its price ("4.25/LB", or under "Price/LB"): an info
# finding naming that unit, so that item matching, which knows the unit our item is sold in, can tell whether the
# price is comparable (worker/intake/lines.py). The finding carries the unit (Finding.unit), which price_units()
# reads. A price per a case or each on such a line is read as before: it is most often the item's own unit, and a
# wrong one shows as a price deviation.
PRICE_PER_UNIT = "price_per_unit"
_WEIGHTS = ("LB", "KG")


@dataclass(frozen=True)
class ParseHints:
    """Per-customer refinements; every field is optional and the parser works without them."""

    day_first: bool | None = None
    decimal_comma: bool | None = None
    currency: str | None = None
    vendor_names: tuple[str, ...] = ()  # our own names as this customer prints them
    buyer_name: str | None = None
    today: date | None = None  # for date sanity checks; tests pin it
    column_aliases: dict[str, str] = field(default_factory=dict)  # header text -> role, e.g. {"Art.": "code"}


def _is_us(name: str, hints: ParseHints) -> bool:
    n = norm_name(name)
    return any(n.startswith(norm_name(v)) for v in OUR_NAMES + hints.vendor_names if norm_name(v))


def _buyer(blocks: dict[str, list[str]], letterhead: str | None, hints: ParseHints) -> tuple[str | None, float]:
    if hints.buyer_name:
        return hints.buyer_name, 0.99
    bill = blocks.get("bill", [None])[0]
    cands = [c for c in (letterhead, bill) if c and not _is_us(c, hints)]
    if not cands:
        return None, 0.0
    if len(cands) == 2 and norm_name(cands[0]) == norm_name(cands[1]):
        return bill, 0.95
    if letterhead in cands:
        return letterhead, 0.7 if bill else 0.6  # the issuer of a PO is the buyer
    return bill, 0.7


def line_numbers(printed: list[int | None]) -> list[int]:
    """Printed line numbers as printed; a row without one gets its row index, or the next number no row uses."""
    used = {p for p in printed if p is not None}
    out, last = [], 0
    for n, p in enumerate(printed, 1):
        if p is None:  # a row index can equal a printed number (1, blank, 2): never repeat one
            # Every number from the last one given up to it is used, so the search resumes there: from n each
            # time, rows without a number before many printed ones were quadratic.
            p = max(n, last)
            while p in used:
                p += 1
            used.add(p)
            last = p
        out.append(p)
    return out


def _lines(table: TableResult | None) -> list[POLine]:
    if table is None:
        return []
    printed = [r.cells.get("line_no", "").strip().rstrip(".") for r in table.rows]
    numbers = line_numbers([int(p) if re.fullmatch(r"\d{1,6}", p) else None for p in printed])
    out = []
    for line_no, r in zip(numbers, table.rows, strict=True):
        desc = " ".join([r.cells.get("description", "")] + r.desc_extra).strip() or None
        generic = r.cells.get("code") or None
        cust = r.cells.get("customer_code") or generic
        price, other_unit = r.price, None
        printed = r.cells.get("unit_price", "").strip()
        if price is not None and r.uom and (unit := price_unit(printed)) and unit != r.uom:
            # '3.89/LB' on a CS line (catch weight) is no price per CS: downstream checks would compare it as one.
            price, other_unit = None, printed
        out.append(POLine(
            line_no=line_no,
            customer_item_code=cust, vendor_item_code=r.cells.get("vendor_code") or None,
            description=desc, quantity=r.qty, uom=r.uom, unit_price=price, amount=r.amount,
            unread=unread_cells(r.cells, r.qty, r.price, r.amount), price_in_other_unit=other_unit))
    return out


def _price_units(table: TableResult | None, lines: list[POLine]) -> list[Finding]:
    """An info finding for each line with no unit of its own whose price is printed per a weight."""
    out = []
    for r, ln in zip(table.rows if table else [], lines, strict=True):
        printed = r.cells.get("unit_price", "").strip()
        if r.uom is None and ln.unit_price is not None and (unit := price_unit(printed)) in _WEIGHTS:
            out.append(Finding(code=PRICE_PER_UNIT, severity="info", line_no=ln.line_no, unit=unit,
                               message=f"line {ln.line_no}: unit price {printed!r} is per {unit}, "
                                       "and the line prints no unit for its quantity"))
    return out


def price_units(po: PurchaseOrder) -> dict[int, str]:
    """The unit each line's price is printed per, for lines that print no unit of their own (line_no -> unit)."""
    return price_units_in([f.model_dump() for f in po.findings])


def price_units_in(findings: object) -> dict[int, str]:
    """price_units from findings as a parse is stored (parsed_json's "findings", a list of dicts) (pure): the review
    order page reads them there. Each finding's `unit` (parses stored before it took one were given it by migration
    20); anything else (a damaged parse, a finding without a unit) names none."""
    out: dict[int, str] = {}
    for f in findings if isinstance(findings, list) else []:
        if not isinstance(f, dict) or f.get("code") != PRICE_PER_UNIT:
            continue
        no, unit = f.get("line_no"), f.get("unit")
        if type(no) is int and isinstance(unit, str) and unit:  # type(): a JSON true is no line number
            out[no] = unit
    return out


def _confidence(po: PurchaseOrder, conf: dict[str, float]) -> dict[str, float]:
    codes = {f.code for f in po.findings}
    bad_lines = {f.line_no for f in po.findings if f.code in LINE_PROBLEMS}
    if po.lines:
        ok = 1 - len(bad_lines) / len(po.lines)
        doubt = {"subtotal_mismatch", "subtotal_gap", "total_gap", LINES_OUTSIDE_TABLE}  # lines may be missing
        conf["lines"] = round(0.9 * ok * (0.5 if codes & doubt else 1.0), 3)
    if TAX_LINES_DIFFER in codes and "tax" in conf:
        conf["tax"] = round(conf["tax"] * 0.6, 3)
    for k in ("subtotal", "freight", "tax", "total", "other_charges"):
        if k in conf and "total_mismatch" in codes:
            conf[k] = round(conf[k] * 0.5, 3)
    if "subtotal_mismatch" in codes and "subtotal" in conf:
        conf["subtotal"] = round(conf["subtotal"] * 0.6, 3)
    for k in ("po_date", "requested_ship_date"):
        if k in conf and any(f.code.startswith(("po_date", "ship_before")) for f in po.findings):
            conf[k] = round(conf[k] * 0.6, 3)
    return {k: v for k, v in conf.items() if v > 0}


def _page_po_numbers(page: PageText) -> set[str]:
    """The PO numbers in a page's header, the lines above its item table (a PO column is not a header)."""
    lines = doc_lines(ExtractedPdf([page], 1, True))
    if not po_numbers(lines):
        return set()  # the common case, without looking for the table
    start = table_start(lines)
    return po_numbers(lines[:start] if start is not None else lines)


def split_orders(pdf: ExtractedPdf) -> list[range]:
    """The page ranges of the purchase orders in a PDF, one range for an ordinary order.

    A page starts a new order when its header names PO numbers and none of them is one the pages before
    it (back to the last start) name: a repeated header naming the same PO is a continuation.
    """
    if len(pdf.pages) < 2:
        return [range(len(pdf.pages))]
    starts: list[int] = [0]
    seen: set[str] = set()
    for p, page in enumerate(pdf.pages):
        numbers = _page_po_numbers(page)
        if p and numbers and seen and not numbers & seen:
            starts.append(p)
            seen = set()
        seen |= numbers
    return [range(a, b) for a, b in zip(starts, [*starts[1:], len(pdf.pages)], strict=True)]


def _pages(pdf: ExtractedPdf, pages: range) -> ExtractedPdf:
    return ExtractedPdf(pdf.pages[pages.start:pages.stop], len(pages), pdf.has_text)


class OrderPart(NamedTuple):
    """One purchase order of a PDF: the pages it is on (0-based) and what was read from them."""

    pages: range
    po: PurchaseOrder


def parse_purchase_orders(pdf: ExtractedPdf, hints: ParseHints | None = None) -> list[OrderPart]:
    """One proposed PurchaseOrder per purchase order in the PDF, each parsed from its own pages, in page order."""
    hints = hints or ParseHints()
    parts = split_orders(pdf)
    if len(parts) == 1:
        return [OrderPart(parts[0], _parse_one(pdf, hints))]
    if (proven := document_day_first(doc_lines(pdf))) is not None:
        hints = replace(hints, day_first=proven)  # one order's unambiguous date tells how all are written
    return [OrderPart(part, _parse_one(_pages(pdf, part), hints)) for part in parts]


def page_span(pages: range) -> str:
    """A part's pages as printed page numbers: "3" or "3-4"."""
    return f"{pages.start + 1}" if len(pages) == 1 else f"{pages.start + 1}-{pages.stop}"


def pages_text(pages: range) -> str:
    """A part's pages in a sentence: "page 3" or "pages 3-4"."""
    return f"page{'s' if len(pages) > 1 else ''} {page_span(pages)}"


def parse_purchase_order(pdf: ExtractedPdf, hints: ParseHints | None = None) -> PurchaseOrder:
    """Parse a text-layer PDF holding one purchase order into a proposed PurchaseOrder with per-field confidence
    and findings.

    Given a PDF holding several, it returns the first with a several_po_numbers error naming them all, so that
    a caller reading one order per PDF (the benchmarks) sees it; the intake reads each with parse_purchase_orders.
    """
    parts = parse_purchase_orders(pdf, hints)
    first = parts[0].po
    if len(parts) > 1:
        named = ", ".join(f"{po.po_number or '(no number)'} ({pages_text(pages)})" for pages, po in parts)
        first.findings.append(Finding(
            code=SEVERAL_POS, severity="error",
            message=f"this PDF holds {len(parts)} purchase orders: {named}; only the first is read here"))
    return first


def _parse_one(pdf: ExtractedPdf, hints: ParseHints) -> PurchaseOrder:
    lines: list[Line] = doc_lines(pdf)
    texts = [ln.text for ln in lines]
    dc = hints.decimal_comma if hints.decimal_comma is not None else decimal_comma_style(texts)
    currency, cur_conf = (hints.currency, 0.99) if hints.currency else detect_currency(texts)
    # An unambiguous date in the document ("Delivery Date: 14/04/2026") settles how its other dates read,
    # over a customer's hint and over the guess from its number style or currency.
    guess = hints.day_first if hints.day_first is not None else (True if dc or currency in ("EUR", "GBP") else None)
    day_first = proven if (proven := document_day_first(lines)) is not None else guess
    table = parse_table(lines, dc, hints.column_aliases)
    head_end = table.start if table else len(lines)
    conf: dict[str, float] = {}
    po_number, conf["po_number"] = find_po_number(lines[:head_end] or lines)
    dates = find_dates(lines[:head_end], day_first)
    blocks = find_blocks(lines, head_end)
    buyer, conf["buyer"] = _buyer(blocks, find_letterhead(lines, head_end), hints)
    if currency is None:
        currency, cur_conf = currency_by_address(blocks.get("bill", []) + blocks.get("ship", []))
    copies = _earlier_copies(lines)
    totals = parse_totals([ln for ln in (lines[table.end:] if table else lines) if ln.idx not in copies], dc)
    rows = [c for c in (table.charges if table else []) if c.line not in copies]
    area = [c for c in totals["charges"] if c.line not in copies]
    freight, at, sub_line = totals.get("freight"), totals.get("freight_line"), totals.get("subtotal_line")
    freight_above = at is not None and sub_line is not None and at < sub_line
    # A freight row inside the item table is freight, not an "other" charge; printed above the subtotal, it may be
    # inside it, as the charge rows there may (validate_order reads which from the printed numbers). The totals area
    # printing the same amount as freight again is that row once, the totals area's freight still noted as above
    # the subtotal; a different amount there is a second freight: the row stays a charge, and the total says
    # whether both are charged.
    if f := [c for c in rows + (area if freight is None else []) if FREIGHT_ROW.match(c.label)
             and not is_discount(c.label) and freight in (None, c.amount)]:
        freight, freight_above = f[0].amount, _above(f[0], totals.get("subtotal_line"))
        (rows if f[0] in rows else area).remove(f[0])
    charges = _charges(rows, area, totals.get("subtotal_line"))
    po = PurchaseOrder(
        po_number=po_number, po_date=dates["po_date"][0], requested_ship_date=dates["requested_ship_date"][0],
        buyer=buyer, bill_to=blocks.get("bill", []), ship_to=blocks.get("ship", []), currency=currency,
        lines=_lines(table), subtotal=totals.get("subtotal"), freight=freight, tax=totals.get("tax"),
        total=totals.get("total"), other_charges=charges, freight_above_subtotal=freight_above)
    po, set_aside = _settle_aside(po, totals.get("freight_aside"), sub_line)
    conf.update({k: v[1] for k, v in dates.items()}, currency=cur_conf,
                bill_to=0.85 if po.bill_to else 0.0, ship_to=0.85 if po.ship_to else 0.0)
    conf.update({k: 0.9 for k in ("subtotal", "freight", "tax", "total") if getattr(po, k) is not None})
    if charges:
        conf["other_charges"] = 0.8
    po.findings = validate_order(po, today=hints.today) + _price_units(table, po.lines) + set_aside
    if table and table.unread:  # rows shaped like items that no table read: never let missing lines pass silently
        shown = "; ".join(ln.text[:60] for ln in table.unread[:3]) + ("; …" if len(table.unread) > 3 else "")
        po.findings.append(Finding(code=LINES_OUTSIDE_TABLE, severity="warning",
                                   message=f"{len(table.unread)} item-like line(s) outside the item table, lines may be "
                                           f"missing: {shown}"))
    if (summed := totals.get("tax_lines_sum")) is not None:
        po.findings.append(Finding(code=TAX_LINES_DIFFER, severity="warning",
                                   message=f"tax lines add up to {summed}, tax total printed {po.tax}"))
    payments = [p for p in (table.payments if table else []) + totals["payments"] if p.line not in copies]
    if payments:
        po.findings.append(payment_finding(payments, totals.get("balance"), po.total))
    po.confidence = _confidence(po, conf)
    return po


def _settle_aside(po: PurchaseOrder, aside: SetAside | None, sub_line: int | None) -> tuple[PurchaseOrder,
                                                                                             list[Finding]]:
    """The order with the freight the totals area set aside as maybe no money ("Shipping 2026", "Delivery: Sat 25",
    "Freight LTL 45") where its numbers prove it, added after the subtotal or, printed above it, inside it, or where
    the totals area prints whole amounts and nothing proves it is not; else the order without it, and a warning
    unless the total proves it is no freight."""
    if aside is None or po.freight is not None:
        return po, []
    with_it = po.model_copy(update={"freight": aside.amount,
                                    "freight_above_subtotal": sub_line is not None and aside.line < sub_line})
    without = totals_add_up(po)
    if totals_add_up(with_it) and not without:
        return with_it, []
    if without and po.total is not None:
        return po, []
    if aside.whole:
        return with_it, []
    why = "no total is printed to tell" if po.total is None else "the total adds up neither with it nor without it"
    return po, [Finding(code=FREIGHT_SET_ASIDE, severity="warning",
                        message=f"{aside.label!r} {aside.amount} not read as the freight: it could be {aside.why}, and "
                                f"{why}; please check the freight")]


def _above(c: Printed, sub_line: int | None) -> bool:
    return sub_line is not None and c.line < sub_line


def _charges(rows: list[Printed], area: list[Printed], sub_line: int | None) -> list[Charge]:
    """The item table's charge rows and the totals area's charges. A row the totals area prints again (the same name
    and amount) is one charge, the totals area's, still noted as above the subtotal as its row is: validate_order
    reads from the printed numbers whether the subtotal includes it. Different amounts stay two charges."""
    out = [Charge(description=c.label, amount=c.amount, above_subtotal=_above(c, sub_line)) for c in rows]
    unmatched = list(out)  # the table's rows not yet found again in the totals area
    for c in area:
        again = next((r for r in unmatched if r.amount == c.amount
                      and printed_name(r.description) == printed_name(c.label)), None)
        if again is not None:
            unmatched.remove(again)
            out.remove(again)
        out.append(Charge(description=c.label, amount=c.amount,
                          above_subtotal=_above(c, sub_line) or (again is not None and again.above_subtotal)))
    return out


def _earlier_copies(lines: list[Line]) -> set[int]:
    """Indexes of lines that a later page prints again, same text at the same place (a page footer's "Fuel
    surcharge 12.50"): only the last copy is read, so a footer's charge is charged once, not once per page."""
    last: dict[tuple, int] = {}
    out: set[int] = set()
    for ln in lines:
        key = (round(ln.y), tuple((f.text.strip(), round(f.x0)) for f in ln.frags))
        if (prev := last.get(key)) is not None and lines[prev].page != ln.page:
            out.add(prev)
        last[key] = ln.idx
    return out


def payment_finding(payments: list[Printed], balance: Decimal | None, total: Decimal | None) -> Finding:
    """A payment printed on the PO (a deposit, a payment received) is no discount: it is not taken off the order,
    and what the PO says is left to pay after it is not the order's total."""
    named = "; ".join(f"{p.label} {p.amount}" for p in payments)
    left = f", balance after it {balance}" if balance is not None else ""
    whose = "" if total is not None else "; the order's total (before payments) is not printed, so none is taken"
    return Finding(code=PAYMENT_ON_PO, severity="warning",
                   message=f"the PO shows a payment against the order, not taken off it: {named}{left}{whose}")
