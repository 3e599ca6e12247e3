"""Write the demo purchase orders (data/demo_orders/*.pdf) that `worker dev` mails through the intake.

Run by hand after changing the orders or the layouts: `PYTHONPATH=. python scripts/make_demo_orders.py` (needs
reportlab, a test extra). The PDFs use the fixture layouts of tests/po/layouts.py with the demo's reference data
(data/reference/: the customers' own codes from customer_item_xref.csv at their pricing_master prices).

The page content is written uncompressed and the PO date and requested ship date are printed as the placeholders
worker/demo_orders.py PO_DATE_MARK and SHIP_DATE_MARK (01/02/2000, 01/09/2000; 2000-01-02, 2000-01-09 in the ISO
layout): the demo load replaces those bytes with its own dates of the same length, which keeps the offsets in the
PDF's xref table valid. Each PDF is checked to parse to exactly the order it draws, as tests/po do.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

from reportlab import rl_config

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.po.layouts import classic_grid, erp_export, side_by_side
from tests.po.orders import Order
from worker.demo_orders import ORDERS, ORDERS_DIR, PO_DATE_MARK, SHIP_DATE_MARK
from worker.po.model import POLine
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import extract_pdf

DRISCOLL = ("Driscoll Foods", ["Driscoll Foods", "17 Industrial Road", "Clifton, NJ 07011"],
            ["Driscoll Foods Warehouse 3", "200 Dock Street", "Newark, NJ 07105"])
RIVERSIDE = ("Riverside Unified School District",
             ["Riverside Unified School District", "Nutrition Services, 410 School Lane", "Riverside, CA 92501"],
             ["Riverside USD Central Kitchen", "75 Commissary Way", "Riverside, CA 92507"])
# (customer code, our code, description, quantity, unit price): the price is the customer's in pricing_master
# unless said otherwise.
LINES = {
    "driscoll-clean.pdf": [("DF-100160", "MM-CHZ-AM160", "MELT MATES AMERICAN CHEESE SLICES 4/160CT", "12", "52.75"),
                           ("DF-100205", "MM-CHZ-CHD5", "MELT MATES SHREDDED CHEDDAR 4/5LB", "8", "42.10"),
                           ("DF-220040", "BEEF-PAT-4OZ", "BEEF PATTIES 4OZ 80/20 40LB", "6", "136.50"),
                           ("DF-310065", "FRY-SS-38", "SHOESTRING FRIES 3/8IN 6/5LB", "20", "32.40"),
                           ("DF-900024", "MM-KIT-GRL24", "MELT MATES GRILLED CHEESE KIT 24CT", "4", "66.00")],
    "driscoll-flags.pdf": [("DF-100206", "MM-CHZ-MOZ5", "MELT MATES SHREDDED MOZZARELLA 4/5LB", "10", "44.20"),  # 39.80
                           ("DF-100161", "MM-CHZ-PJ160", "MELT MATES PEPPER JACK SLICES 4/160CT", "6", "55.20"),
                           ("DF-777310", "", "ICE CREAM VANILLA BEAN PREMIUM 3 GAL TUB", "3", "41.90")],  # unknown
    "riverside-usd.pdf": [("RUSD-BRK-01", "RS-OAT-CUP48", "RIGHT START OATMEAL CUPS 48CT", "15", "30.10"),
                          ("RUSD-BRK-02", "RS-YOG-PARF36", "RIGHT START YOGURT PARFAIT KITS 36CT", "10", "38.90"),
                          ("RUSD-KIT-48", "RS-KIT-BRK48", "RIGHT START BREAKFAST KIT 48CT", "8", "59.80")],
}
LAYOUT = {"driscoll-clean.pdf": (classic_grid, DRISCOLL, None), "driscoll-flags.pdf": (erp_export, DRISCOLL, "35.00"),
          "riverside-usd.pdf": (side_by_side, RIVERSIDE, None)}
FIELDS = ["po_number", "po_date", "requested_ship_date", "buyer", "bill_to", "ship_to", "currency", "subtotal",
          "freight", "tax", "total", "other_charges", "lines"]


def order(file: str, po_number: str) -> Order:
    """The demo order drawn into `file`, dated with the placeholders."""
    _layout, (buyer, bill_to, ship_to), freight = LAYOUT[file]
    lines = [POLine(line_no=n, customer_item_code=cc, vendor_item_code=vc or None, description=desc,
                    quantity=Decimal(qty), uom="CS", unit_price=Decimal(price),
                    amount=(Decimal(qty) * Decimal(price)).quantize(Decimal("0.01")))
             for n, (cc, vc, desc, qty, price) in enumerate(LINES[file], 1)]
    return Order(po_number=po_number, po_date=PO_DATE_MARK, ship_date=SHIP_DATE_MARK, buyer=buyer, bill_to=bill_to,
                 ship_to=ship_to, currency="USD", lines=lines, freight=Decimal(freight) if freight else None)


def main() -> int:
    """Draw, check and write every demo PO."""
    rl_config.pageCompression = 0  # the dates must be findable (and replaceable) bytes
    rl_config.invariant = 1  # no creation time or random document id: the same bytes each run
    ORDERS_DIR.mkdir(parents=True, exist_ok=True)
    for demo in ORDERS:
        o = order(demo.file, demo.po_number)
        pdf, omit = LAYOUT[demo.file][0](o)
        got = json.loads(parse_purchase_order(extract_pdf(pdf, 50), ParseHints(today=PO_DATE_MARK)).model_dump_json())
        want = json.loads(o.expected(omit).model_dump_json())
        wrong = [f for f in FIELDS if got[f] != want[f]]
        if wrong or b"/FlateDecode" in pdf:
            print(f"{demo.file}: parsed wrong: {wrong}" if wrong else f"{demo.file}: compressed", file=sys.stderr)
            return 1
        (ORDERS_DIR / demo.file).write_bytes(pdf)
        print(f"{demo.file}: {len(pdf)} bytes, {len(o.lines)} lines, total {o.total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
