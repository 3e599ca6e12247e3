"""A PDF's layout parse is bounded like its extraction (SPEC 5.8): hostile layouts are read in linear time, and one
that still takes too long or too much memory becomes a needs_manual item with a reason, within the limits.

Before, the parse ran in-process in a thread no timeout could stop: a 2.4 KB PDF of 40,000 one-letter lines
parsed for 330 s (a quadratic row-pitch count), past the email's time limit, and the hot tier retried it.
The pytest timeouts below are guards, not measures: the fixed code takes a second or two where the old took minutes.
"""
from __future__ import annotations

import asyncio
import io
import random
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from reportlab.pdfgen import canvas

from tests.po.layouts import build
from worker.env import Env
from worker.intake.analyze import analyze_orders
from worker.po.parser import ParseHints, line_numbers, parse_purchase_orders
from worker.po.pdftext import ExtractLimits, PdfExtractor, PdfRejected, layout_too_slow
from worker.po.table import _recurring_max
from worker.po.textlayer import ExtractedPdf, Fragment, PageText, extract_pdf

TODAY = date(2026, 11, 20)
HEADER = [(40, "Line"), (70, "Item"), (130, "Description"), (320, "Qty"), (360, "UOM"), (400, "Unit Price"),
          (480, "Amount")]


def many_lines_pdf(n: int) -> bytes:
    """The auditor's PDF: an item table's header, then n lines of "x" 5 pt apart on one page (a few KB)."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=(612, 792))
    c.setFont("Helvetica", 10)
    c.drawString(40, 800, "PURCHASE ORDER   PO 12345")
    for x, text in HEADER:
        c.drawString(x, 780, text)
    lines = c.beginText(130, 770)
    lines.setFont("Helvetica", 10)
    lines.setLeading(5)  # below the page's foot too: text off the page is still in its text layer
    for _ in range(n):
        lines.textLine("x")
    c.drawText(lines)
    c.showPage()
    c.save()
    return out.getvalue()


@pytest.fixture
def reader_env(make_env: Callable[..., Env]) -> Iterator[Env]:
    """An env with the configured limits (10 s per PDF); its reader's children are stopped after."""
    env = make_env()
    yield env
    reader = env.extras.pop("pdf_extractor", None)
    if reader is not None:
        reader.close()  # type: ignore[attr-defined]


@pytest.mark.timeout(120)
def test_a_pdf_of_thousands_of_lines_is_read_within_the_limit(reader_env: Env) -> None:
    # 8,000 lines: the quadratic row-pitch count alone took about 20 s, over the 10 s limit; now about 2 s.
    [result] = asyncio.run(analyze_orders(reader_env, many_lines_pdf(8000), TODAY))
    assert result.status == "needs_manual"
    assert result.reason == "no order lines found in the PDF (not a purchase order, or an unreadable layout)"


@pytest.mark.timeout(60)
def test_a_layout_over_the_parse_limit_is_needs_manual_and_its_child_is_stopped(reader_env: Env) -> None:
    # The parse runs in the reader's child under its limits: one that goes on too long is ended there (the
    # child is killed and replaced), not left burning a core in the worker, and the PDF needs a person.
    reader = PdfExtractor(ExtractLimits(timeout_s=60, parse_timeout_s=0.2), workers=1)
    reader_env.extras["pdf_extractor"] = reader
    reader._start()
    [child] = reader._all
    [result] = asyncio.run(analyze_orders(reader_env, many_lines_pdf(8000), TODAY))
    assert (result.status, result.reason) == ("needs_manual", layout_too_slow(0.2))
    assert result.reason == "the PDF's layout took too long to read (over the 0.2 s limit for reading a PDF)"
    assert child.proc.exitcode is not None and child not in reader._all
    pdf, _ = build("classic_grid", seed=3)
    [ordinary] = asyncio.run(analyze_orders(reader_env, pdf, TODAY))  # the replacement child reads the next one
    assert ordinary.status == "pending" and ordinary.po is not None and ordinary.po.lines


@pytest.mark.parametrize("name", ["classic_grid", "two_page", "wrapped_desc", "european"])
def test_ordinary_orders_parse_in_the_sandbox_as_in_process(name: str) -> None:
    pdf, _ = build(name, seed=5)
    hints = ParseHints(today=TODAY)
    reader = PdfExtractor(ExtractLimits(timeout_s=20), workers=1)
    try:
        read = reader.read(pdf, hints)
    finally:
        reader.close()
    here = parse_purchase_orders(extract_pdf(pdf, 50), hints)
    assert read.has_text and read.parts
    assert [(p.pages, p.po.model_dump_json()) for p in read.parts] == [(p.pages, p.po.model_dump_json()) for p in here]


def test_a_scanned_pdf_is_not_parsed_and_a_bad_one_is_rejected() -> None:
    from tests.po import hostile

    reader = PdfExtractor(ExtractLimits(timeout_s=20), workers=1)
    try:
        scanned = reader.read(hostile.many_pages(1), ParseHints())
        assert (scanned.has_text, scanned.parts) == (False, [])
        with pytest.raises(PdfRejected, match="truncated or corrupt PDF"):
            reader.read(build("classic_grid", seed=1)[0][:400], ParseHints())
    finally:
        reader.close()


def _page(lines: list[list[Fragment]]) -> PageText:
    return PageText(lines)


@pytest.mark.timeout(15)
def test_many_po_number_labels_on_two_pages_are_read_in_linear_time() -> None:
    # Each label looked for its value below by scanning every line of its page: 2 x 6,000 labels took minutes.
    pages = [_page([[Fragment(40, 100, 780 - 5 * i, f"PO # {p}{i:05d}")] for i in range(6000)]) for p in (1, 2)]
    parts = parse_purchase_orders(ExtractedPdf(pages, 2, True), ParseHints(today=TODAY))
    assert [(p.pages, p.po.po_number) for p in parts] == [(range(1), "100000"), (range(1, 2), "200000")]


@pytest.mark.timeout(15)
def test_many_date_labels_without_values_are_read_in_linear_time() -> None:
    page = _page([[Fragment(40, 80, 780 - 5 * i, "Date:")] for i in range(12_000)])
    [part] = parse_purchase_orders(ExtractedPdf([page], 1, True), ParseHints(today=TODAY))
    assert part.po.po_date is None


@pytest.mark.timeout(15)
def test_many_bare_dates_are_read_in_linear_time() -> None:
    # Each bare date looked for a caption above it by scanning every line; one date printed alone is the order's.
    page = _page([[Fragment(300, 350, 780 - 5 * i, "11/02/2026")] for i in range(12_000)])
    [part] = parse_purchase_orders(ExtractedPdf([page], 1, True), ParseHints(today=TODAY))
    assert part.po.po_date == date(2026, 11, 2)


@pytest.mark.timeout(10)
def test_rows_without_a_number_before_numbered_rows_are_numbered_in_linear_time() -> None:
    n = 40_000  # each unnumbered row walked past every printed number from its own index: 20,000 took 33 s
    assert line_numbers([None] * n + list(range(1, n + 1))) == list(range(n + 1, 2 * n + 1)) + list(range(1, n + 1))
    assert line_numbers([1, None, 2, None, 5, None]) == [1, 3, 2, 4, 5, 6]  # never a printed number twice


def _recurring_max_by_definition(gaps: list[float]) -> float | None:
    return max((g for g in gaps if sum(abs(g - h) <= 1 for h in gaps) >= max(2, len(gaps) / 4)), default=None)


def test_row_pitch_window_is_the_count_it_replaces() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        pool = [rng.choice([12.0, 13.0, 11.0, 0.1, 1.1, 0.04]) + rng.choice([0, 1e-16, -1e-16, rng.random()])
                for _ in range(4)] + [float("inf"), float("nan")]
        gaps = [rng.choice(pool) if rng.random() < 0.8 else rng.uniform(-5, 30) for _ in range(rng.randint(0, 25))]
        want, got = _recurring_max_by_definition(gaps), _recurring_max(gaps)
        assert want == got, gaps  # a gap that is not finite is near none, so never the answer
