"""Demo purchase orders: the PDFs in data/demo_orders/, mailed once through the real intake by the demo load.

scripts/make_demo_orders.py draws them with uncompressed page content and prints each PO date and requested ship
date as a fixed placeholder (PO_DATE_MARK, SHIP_DATE_MARK in a fixed-width format): `dated` swaps in the demo's
dates as strings of the same length, so the byte offsets in the PDF's xref table stay valid. Each email is built
from the demo's `now` (the first load's, also when a load is resumed), so its Message-ID and bytes are the same
every time: an order already logged is only finished, never mailed twice (and the intake would call it a duplicate).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from worker.env import Env
from worker.intake.pipeline import process_email
from worker.intake.store import accept_raw
from worker.storage import StorageError

log = logging.getLogger("worker.demo")
ORDERS_DIR = Path(__file__).resolve().parent.parent / "data" / "demo_orders"
PO_DATE_MARK, SHIP_DATE_MARK = date(2000, 1, 2), date(2000, 1, 9)
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d")  # the layouts' dates: fixed width, so a swap keeps the PDF's offsets
# The customer's buyer: a purchasing contact if it has one, else its first active non-AP contact.
BUYER_EMAIL = """
SELECT email FROM customer_contacts WHERE customer_id = :customer_id AND is_inactive = 0 AND email IS NOT NULL
ORDER BY title LIKE '%Purchasing%' DESC, title LIKE 'Accounts Payable%', ns_id LIMIT 1
"""
LOGGED = "SELECT id FROM inbound_email_log WHERE message_id = :message_id AND status != 'duplicate' ORDER BY id LIMIT 1"


@dataclass(frozen=True)
class DemoOrder:
    """One demo PO: its PDF, whose it is, and when it was written and is wanted, in days from the demo's today."""

    file: str
    customer_id: str
    po_number: str
    days_before: int
    ship_after: int


ORDERS = (
    DemoOrder("driscoll-clean.pdf", "1187", "DF-458120", 1, 3),  # xref codes at the contract price
    DemoOrder("driscoll-flags.pdf", "1187", "DF-458133", 2, 5),  # a price off the contract, an unknown code
    DemoOrder("riverside-usd.pdf", "1203", "RUSD-PO-26114", 1, 4),  # a school district, its own codes
)


def dated(pdf: bytes, po_date: date, ship_date: date) -> bytes:
    """The PDF with the placeholder dates replaced by these (same-length strings: the xref stays valid)."""
    for fmt in DATE_FORMATS:
        for mark, real in ((PO_DATE_MARK, po_date), (SHIP_DATE_MARK, ship_date)):
            pdf = pdf.replace(mark.strftime(fmt).encode(), real.strftime(fmt).encode())
    return pdf


def message_id(order: DemoOrder, sender: str, now: datetime) -> str:
    """The order email's Message-ID: one per order and demo year."""
    return f"<demo-{order.po_number}-{now:%Y%m%d%H%M%S}@{sender.rpartition('@')[2]}>"


def order_email(order: DemoOrder, pdf: bytes, sender: str, to: str, now: datetime) -> bytes:
    """The customer's email with its PO attached; the same bytes for the same (order, now)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, f"Purchase order {order.po_number}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(order, sender, now)
    msg.set_content(f"Hello,\n\nplease find our purchase order {order.po_number} attached.\n\nThank you\n")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"PO {order.po_number}.pdf")
    msg.set_boundary(f"demo-order-{order.po_number}")  # a random boundary would make each build new bytes
    return msg.as_bytes(policy=SMTP)


async def mail_demo_orders(env: Env, now: datetime, orders_dir: Path = ORDERS_DIR) -> list[str] | None:
    """Mail each demo PO to the orders address and process it as the doors do; returns the emails' statuses, or
    None when the bucket does not answer (nothing is mailed: the demo load tries again at the next start)."""
    try:
        await env.bucket.ping()
    except StorageError as exc:  # down, unconfigured or not created: spooled, they would wait for the hot tier
        log.warning("demo orders not mailed yet: the bucket does not answer; the next start tries again",
                    extra={"error": str(exc)})
        return None
    intake = dataclasses.replace(env, clock=lambda: now)  # arrived at the demo's now, also when resumed later
    routes = env.settings.email.routes
    to = next((r for r in routes if r.startswith("orders@")), routes[0])
    today = now.astimezone(env.settings.timezone).date()
    statuses = []
    for order in ORDERS:
        buyer = await env.db.fetchone(BUYER_EMAIL, {"customer_id": order.customer_id})
        if buyer is None:  # not the demo's customers
            continue
        # Logged by a load cut short: only finished here (the hot tier would retry it too).
        logged = await env.db.fetchone(LOGGED, {"message_id": message_id(order, buyer[0], now)})
        if logged is None:
            pdf = dated((orders_dir / order.file).read_bytes(), today - timedelta(days=order.days_before),
                        today + timedelta(days=order.ship_after))
            logged = [(await accept_raw(intake, order_email(order, pdf, buyer[0], to, now), door="demo")).email_id]
        email_id = logged[0]
        statuses.append(await process_email(intake, email_id))  # 'skipped' when done already
    return statuses
