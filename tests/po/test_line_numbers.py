"""Line numbers never repeat: a row without a printed number takes one no printed row uses."""
from datetime import date

from tests.po.layouts import Page
from worker.po.parser import ParseHints, line_numbers, parse_purchase_order
from worker.po.textlayer import extract_pdf


def test_printed_numbers_are_kept_and_missing_ones_take_an_unused_number():
    assert line_numbers([1, None, 2]) == [1, 3, 2]  # was [1, 2, 2]: the row index repeated a printed number
    assert line_numbers([None, None, None]) == [1, 2, 3]
    assert line_numbers([2, None, None]) == [2, 3, 4]
    assert line_numbers([10, None, 30]) == [10, 2, 30]
    assert line_numbers([3, 3]) == [3, 3]  # printed repeats stay as printed; the review form renumbers them


def _grid_po(rows: list[list[str]]) -> bytes:
    p = Page()
    p.t(40, 50, "Harbor Street Deli LLC", font=("Helvetica-Bold", 14))
    p.t(40, 64, "12 Pier Rd, Boston, MA 02110")
    p.t(400, 50, "PURCHASE ORDER", font=("Helvetica-Bold", 12))
    p.t(400, 66, "PO Number: HSD-9921")
    p.t(400, 78, "PO Date: 11/18/2026")
    p.block(40, 110, "Vendor:", ["Gulf Food Service", "1200 Harbor Way", "Mobile, AL 36602"])
    xs = [40, 80, 160, 400, 440, 480, 530]
    y = 180
    for x, head in zip(xs, ["Line", "Item #", "Description", "Qty", "UOM", "Unit Price", "Amount"], strict=True):
        p.t(x, y, head, font=("Helvetica-Bold", 8))
    for row in rows:
        y += 14
        for i, (x, value) in enumerate(zip(xs, row, strict=True)):
            p.t(x + 35, y, value, right=True) if i >= 3 and i != 4 else p.t(x, y, value)
    p.t(440, y + 30, "Total:")
    p.t(565, y + 30, "1,664.50", right=True)
    return p.done()


def test_a_row_without_a_printed_number_does_not_repeat_the_next_printed_one():
    pdf = _grid_po([["1", "HSD-100", "Canola oil 35 lb jug", "10", "EA", "42.25", "422.50"],
                    ["", "HSD-150", "Olive oil 1 gal", "2", "EA", "30.00", "60.00"],
                    ["2", "HSD-200", "Cheddar block mild 40 lb", "12", "CS", "98.50", "1,182.00"]])
    po = parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=date(2026, 11, 20)))
    assert [(ln.line_no, ln.customer_item_code) for ln in po.lines] == [(1, "HSD-100"), (3, "HSD-150"), (2, "HSD-200")]
