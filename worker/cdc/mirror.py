"""How each record type maps into its SPEC tables, and the few SQL statements that write them.

A `Mirror` describes one record type: its header table and columns, how a validated record becomes a
row, its child tables (lines, packages, applications: replaced as a whole with the header), the ledger
event names and payload. The statements are generated once at import from the column lists below (the
one place identifiers are put into SQL; every value is a `?` parameter).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from worker.aging import invoice_remaining
from worker.cdc import models as m
from worker.currency import base_rate

VERSION_COLUMNS = ("cdc_data_version", "cdc_version", "last_modified", "deleted_at")


def dumps(value: Any) -> str:
    """Compact JSON text of a decoded JSON value (msgspec: ~5x the stdlib's speed on this hot path)."""
    return msgspec.json.encode(value).decode()


@dataclass(frozen=True)
class Child:
    """A table of rows that belong to one header row and are replaced with it."""

    table: str
    parent_column: str
    columns: tuple[str, ...]  # after the parent column
    rows: Callable[[Any, dict[str, Any]], list[tuple[Any, ...]]]
    given: Callable[[Any], bool]  # did the record carry this sublist (REST leaves it out unless expanded)?
    version_column: str  # the header's column holding the version of the event whose rows these are
    payload_keys: tuple[str, ...] = ()  # the ledger payload's fields that describe these rows
    # Several sublists sharing one table (a fulfillment's package lists): the column naming each row's sublist and
    # this child's value (a constant of this module). Its event replaces only its rows, and those of no known
    # sublist (NULL: mirrored before the sublists were told apart, replaced by any of them, as they were then).
    scope: tuple[str, str] | None = None
    delete_sql: str = field(init=False)
    insert_sql: str = field(init=False)

    def __post_init__(self) -> None:
        cols = (self.parent_column, *self.columns)
        scoped = f" AND ({self.scope[0]} = '{self.scope[1]}' OR {self.scope[0]} IS NULL)" if self.scope else ""
        object.__setattr__(self, "delete_sql", f"DELETE FROM {self.table} WHERE {self.parent_column} = ?{scoped}")
        object.__setattr__(self, "insert_sql", f"INSERT INTO {self.table} ({', '.join(cols)}) "
                                               f"VALUES ({', '.join('?' * len(cols))})")


@dataclass(frozen=True)
class Mirror:
    """One record type's mapping and statements."""

    record_type: str
    table: str
    columns: tuple[str, ...]  # data columns after ns_id, ending with raw_json
    row: Callable[[Any], tuple[Any, ...]]  # data values except raw_json
    customer: Callable[[str, Any], str | None]  # (record_id, model) -> customer id
    ledger: dict[str, str]  # created / updated / deleted (/ sublists, with children) -> event type
    payload: Callable[[Any], dict[str, Any]]
    customer_column: str = "customer_id"
    children: tuple[Child, ...] = ()
    # Keeps inactivated_at, when the record became inactive (apply.py works it out: the row holds no history).
    inactivation: bool = False
    upsert_sql: str = field(init=False)
    tombstone_sql: str = field(init=False)
    held_sql: str = field(init=False)

    sublists_sql: str = field(init=False)

    def __post_init__(self) -> None:
        sublist_columns = tuple(child.version_column for child in self.children)
        tracked = ("inactivated_at",) if self.inactivation else ()
        cols = ("ns_id", *self.columns, *VERSION_COLUMNS, *sublist_columns, *tracked)
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols[1:])
        object.__setattr__(self, "upsert_sql", f"INSERT INTO {self.table} ({', '.join(cols)}) "
                                               f"VALUES ({', '.join('?' * len(cols))}) "
                                               f"ON CONFLICT (ns_id) DO UPDATE SET {updates}")
        # A row written without versions (versions.legacy_key) is given its data's version: the tombstone's
        # last_modified would hide it, and a revival would then look like a record never seen.
        object.__setattr__(self, "tombstone_sql", f"INSERT INTO {self.table} (ns_id, {', '.join(VERSION_COLUMNS)}) "
                                                  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (ns_id) DO UPDATE SET "
                                                  "cdc_data_version = coalesce(cdc_data_version, "
                                                  "excluded.cdc_data_version), "
                                                  "cdc_version = excluded.cdc_version, "
                                                  "last_modified = excluded.last_modified, "
                                                  "deleted_at = excluded.deleted_at")
        # One JSON array parameter instead of a variable-length IN list keeps the statement constant.
        object.__setattr__(self, "held_sql", f"SELECT ns_id, cdc_version, cdc_data_version, last_modified, "
                                             f"deleted_at, {', '.join((self.customer_column, *sublist_columns, *tracked))} "
                                             f"FROM {self.table} WHERE ns_id IN (SELECT value FROM json_each(?))")
        # A stale event may still carry the newest sublist: its rows are written, and this version.
        object.__setattr__(self, "sublists_sql", f"UPDATE {self.table} SET "
                                                 f"{', '.join(f'{c} = ?' for c in sublist_columns)} WHERE ns_id = ?"
                                                 if sublist_columns else "")

    @property
    def inactive_at(self) -> int:
        """Where a prepared row (ns_id first) holds is_inactive."""
        return 1 + self.columns.index("is_inactive")


def _id(ref: m.Ref | None) -> str | None:
    return ref.id if ref is not None else None


def _name(ref: m.Ref | None) -> str | None:
    return ref.refName if ref is not None else None


def _day(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _raw_sublist(raw: dict[str, Any], *keys: str) -> list[Any]:
    node: Any = raw
    for key in keys:
        if not isinstance(node, dict):
            return []
        node = node.get(key, node.get(key.lower()))
    return node if isinstance(node, list) else []


def _numbered(lines: list[Any]) -> list[tuple[int, Any]]:
    return [(line.line if line.line is not None else pos, line) for pos, line in enumerate(lines, start=1)]


def _item_lines(rec: m._WithLines, raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    raws = _raw_sublist(raw, "item", "items")
    return [(no, _id(ln.item), _name(ln.item), ln.description, ln.quantity, ln.units, ln.rate, ln.amount,
             dumps(raws[i]) if i < len(raws) else None) for i, (no, ln) in enumerate(_numbered(rec.lines))]


def _order_lines(rec: m.SalesOrderRecord, raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    # A sales order's lines keep whether NetSuite closed them (ORDER_LINE_COLUMNS): invoices' lines have no such state.
    return [(*row[:-1], int(ln.is_closed), row[-1]) for row, ln in zip(_item_lines(rec, raw), rec.lines, strict=True)]


def _fulfillment_lines(rec: m.FulfillmentRecord, raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    raws = _raw_sublist(raw, "item", "items")
    return [(no, _id(ln.item), _name(ln.item), ln.description, ln.quantity, ln.order_line,
             dumps(raws[i]) if i < len(raws) else None) for i, (no, ln) in enumerate(_numbered(rec.lines))]


def _all_packages(rec: m.FulfillmentRecord) -> list[tuple[str | None, m.Package]]:
    return [(p.carrier or rec.carrier, p) for p in rec.packages] + rec.carrier_packages


# A fulfillment's package sublists, each its own register (shipments.source, a version column each): `package`
# (REST; packageList is its SOAP spelling, one sublist in NetSuite) and the carrier integrations' own sublists.
# (source, the model's field, the carrier its packages imply, the header's version column)
PACKAGE_SUBLISTS = (("package", "package_items", None, "cdc_packages_version"),
                    ("packageUps", "ups_packages", "UPS", "cdc_ups_packages_version"),
                    ("packageFedex", "fedex_packages", "FedEx", "cdc_fedex_packages_version"),
                    ("packageUsps", "usps_packages", "USPS", "cdc_usps_packages_version"))
PACKAGE_COLUMNS = ("source", "package_no", "tracking_number", "carrier", "weight", "description")


def _sublist_given(rec: m.FulfillmentRecord, source: str, name: str) -> bool:
    return rec.package_items is not None if source == "package" else name in rec.carriers_given


def _package_child(source: str, name: str, carrier: str | None, version_column: str) -> Child:
    """The shipments rows of one package sublist."""
    names = [n for _, n, _, _ in PACKAGE_SUBLISTS]
    before = names[:names.index(name)]  # the sublists numbered ahead of this one

    def rows(rec: m.FulfillmentRecord, raw: dict[str, Any]) -> list[tuple[Any, ...]]:
        # Numbered as before version 19, by position among all the event's packages (package list first), so
        # package_no stays unique per fulfillment and sublist, and an event carrying every sublist numbers as then.
        start = 1 + sum(len(getattr(rec, n) or []) for n in before)
        return [(source, no, p.tracking_number, carrier or p.carrier or rec.carrier, p.weight, p.description)
                for no, p in enumerate(getattr(rec, name) or [], start=start)]

    return Child("shipments", "fulfillment_id", PACKAGE_COLUMNS, rows, lambda rec: _sublist_given(rec, source, name),
                 version_column, ("tracking_numbers",), scope=("source", source))


@functools.lru_cache(maxsize=64)  # migration 19 asks several times per fulfillment, its rows one after another
def _fulfillment(raw_json: str | None) -> m.FulfillmentRecord | None:
    try:
        return m.FulfillmentRecord.model_validate(json.loads(raw_json)) if raw_json else None
    except (ValueError, RecursionError):  # not JSON, nested too deep, or not a fulfillment the models read
        return None


def _old_numbering(raw_json: str | None) -> list[tuple[str, str | None]] | None:
    """(sublist, tracking number) of a record's packages in the mirror's numbering (one list, the package list
    first); None when the record is unreadable."""
    rec = _fulfillment(raw_json)
    if rec is None:
        return None
    return [(source, p.tracking_number) for source, name, _, _ in PACKAGE_SUBLISTS for p in getattr(rec, name) or []]


def package_count(raw_json: str | None) -> int | None:
    """How many packages a fulfillment's record (raw_json) holds in all its sublists; None when unreadable
    (migration 19)."""
    packages = _old_numbering(raw_json)
    return None if packages is None else len(packages)


def package_source(raw_json: str | None, package_no: int | None, tracking_number: str | None) -> str | None:
    """The sublist of a fulfillment's `package_no`-th package, when its record as applied (raw_json) holds that
    tracking number there; else None (pure; migration 19)."""
    packages = _old_numbering(raw_json) or []
    if package_no is None or not 1 <= package_no <= len(packages) or packages[package_no - 1][1] != tracking_number:
        return None
    return packages[package_no - 1][0]


def packages_carried(raw_json: str | None, source: str) -> int:
    """1 when a fulfillment's record (raw_json) carried the package sublist `source` with its items (migration 19)."""
    rec = _fulfillment(raw_json)
    name = next(name for src, name, _, _ in PACKAGE_SUBLISTS if src == source)
    return int(rec is not None and _sublist_given(rec, source, name))


def _applications(rec: m._WithApply, raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    # Numbered by position: an apply line's `line` is the line of the document applied to (0 for most
    # invoices), so a payment applied to two invoices carries line 0 twice.
    return [(pos, _id(a.doc), a.type, a.amount) for pos, a in enumerate(rec.applied, start=1)]


def _payment_applications(rec: m.PaymentRecord, raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    # apply_date as sent (the date of the invoice paid, in NetSuite); disc: the discount taken, which settles
    # the invoice beside the amount.
    return [(*row, _day(a.apply_date), a.disc) for row, a in zip(_applications(rec, raw), rec.applied, strict=True)]


ITEM_LINE_COLUMNS = ("line_no", "item_id", "item_name", "description", "quantity", "units", "rate", "amount", "raw_json")
ORDER_LINE_COLUMNS = (*ITEM_LINE_COLUMNS[:-1], "is_closed", "raw_json")
APPLY_COLUMNS = ("line_no", "invoice_id", "doc_type", "amount")


def _txn_payload(rec: Any) -> dict[str, Any]:
    return {"tran_id": rec.tran_id, "tran_date": _day(rec.tran_date), "status": rec.status, "total": rec.total}


def _applied_payload(rec: m._WithApply) -> list[dict[str, Any]] | None:
    if not rec.applications_given:
        return None  # not expanded: unknown, not "applied to nothing"
    # A payment's early-payment discount taken settles the invoice beside the amount: named when there is one.
    return [{"invoice_id": _id(a.doc), "amount": a.amount, "type": a.type, **({"disc": a.disc} if a.disc else {})}
            for a in rec.applied]


@functools.lru_cache(maxsize=64)  # migration 15 asks once per row: a payment's lines are read once
def _applied_discounts(raw_json: str) -> tuple[tuple[str | None, float | None], ...]:
    try:
        rec = m.PaymentRecord.model_validate(json.loads(raw_json))
    except (ValueError, RecursionError):  # not JSON, too deep, or not a payment the models read: no discount known
        return ()
    return tuple((_id(a.doc), a.disc) for a in rec.applied) if rec.applications_given else ()


def applied_disc(raw_json: str | None, line_no: int | None, invoice_id: str | None) -> float | None:
    """The early-payment discount of a payment's `line_no`-th applied line in its record as applied (raw_json),
    when that line is the invoice's; else None (pure). Migration 15 fills payment_application.disc with it."""
    lines = _applied_discounts(raw_json) if raw_json else ()
    if line_no is None or not 1 <= line_no <= len(lines) or lines[line_no - 1][0] != invoice_id:
        return None
    return lines[line_no - 1][1]


def _remaining(rec: m.InvoiceRecord) -> float | None:
    # Stored as the invoice's amount_remaining, derived when REST left it out; NULL is "unknown", never paid.
    return invoice_remaining(rec.amount_remaining, rec.total, rec.amount_paid, rec.status)


def _lines_given(rec: m._WithLines) -> bool:
    return rec.lines_given


def _applications_given(rec: m._WithApply) -> bool:
    return rec.applications_given


MIRRORS: dict[str, Mirror] = {mirror.record_type: mirror for mirror in (
    Mirror("customer", "customers",
           ("entity_id", "company_name", "email", "phone", "terms", "credit_limit", "is_inactive", "date_created",
            "raw_json"),
           lambda r: (r.entity_id, r.company_name, r.email, r.phone, r.terms, r.credit_limit, int(r.is_inactive),
                      r.date_created),
           customer=lambda rid, r: rid, customer_column="ns_id",
           ledger={"created": "customer.created", "updated": "customer.updated", "deleted": "customer.deleted"},
           payload=lambda r: {"company_name": r.company_name, "entity_id": r.entity_id, "email": r.email,
                              "terms": r.terms, "is_inactive": r.is_inactive}),
    Mirror("contact", "customer_contacts",
           ("customer_id", "name", "email", "phone", "title", "is_inactive", "date_created", "raw_json"),
           lambda r: (_id(r.company), r.entity_id or " ".join(p for p in (r.first_name, r.last_name) if p) or None,
                      r.email, r.phone, r.title, int(r.is_inactive), r.date_created),
           customer=lambda rid, r: _id(r.company),
           ledger={"created": "contact.created", "updated": "contact.updated", "deleted": "contact.deleted"},
           payload=lambda r: {"email": r.email, "title": r.title, "is_inactive": r.is_inactive}, inactivation=True),
    Mirror("salesorder", "transactions",
           ("type", "tran_id", "customer_id", "tran_date", "ship_date", "status", "other_ref_num", "memo", "currency",
            "total", "raw_json"),
           lambda r: ("salesorder", r.tran_id, _id(r.entity), _day(r.tran_date), _day(r.ship_date),
                      m.order_status(r.status), r.other_ref_num, r.memo, r.currency, r.total),
           customer=lambda rid, r: _id(r.entity),
           ledger={"created": "salesorder.created", "updated": "salesorder.updated", "deleted": "salesorder.deleted",
                   "sublists": "salesorder.sublists_updated"},
           payload=lambda r: {**_txn_payload(r), "status": m.order_status(r.status), "other_ref_num": r.other_ref_num,
                              "line_count": len(r.lines) if r.lines_given else None},
           children=(Child("transaction_lines", "transaction_id", ORDER_LINE_COLUMNS, _order_lines, _lines_given,
                           "cdc_lines_version", ("line_count",)),)),
    Mirror("itemfulfillment", "item_fulfillment",
           ("tran_id", "customer_id", "created_from", "tran_date", "ship_status", "memo", "raw_json"),
           lambda r: (r.tran_id, _id(r.entity), _id(r.created_from), _day(r.tran_date), r.status_word, r.memo),
           customer=lambda rid, r: _id(r.entity),
           ledger={"created": "itemfulfillment.created", "updated": "itemfulfillment.updated",
                   "deleted": "itemfulfillment.deleted", "sublists": "itemfulfillment.sublists_updated"},
           payload=lambda r: {**_txn_payload(r), "created_from": _id(r.created_from), "ship_status": r.status_word,
                              "tracking_numbers": [p.tracking_number for _, p in _all_packages(r) if p.tracking_number]
                              if r.packages_given else None},
           children=(Child("item_fulfillment_lines", "fulfillment_id",
                           ("line_no", "item_id", "item_name", "description", "quantity", "order_line", "raw_json"),
                           _fulfillment_lines, _lines_given, "cdc_lines_version"),
                     *(_package_child(*sublist) for sublist in PACKAGE_SUBLISTS))),
    Mirror("invoice", "customer_invoice",
           ("tran_id", "customer_id", "created_from", "tran_date", "due_date", "terms", "status", "currency", "total",
            "amount_remaining", "other_ref_num", "exchange_rate", "raw_json"),
           lambda r: (r.tran_id, _id(r.entity), _id(r.created_from), _day(r.tran_date), _day(r.due_date), r.terms,
                      r.status, r.currency, r.total, _remaining(r), r.other_ref_num, base_rate(r.exchange_rate, r.currency)),
           customer=lambda rid, r: _id(r.entity),
           ledger={"created": "invoice.created", "updated": "invoice.updated", "deleted": "invoice.deleted",
                   "sublists": "invoice.sublists_updated"},
           payload=lambda r: {**_txn_payload(r), "due_date": _day(r.due_date), "created_from": _id(r.created_from),
                              "amount_remaining": _remaining(r), "other_ref_num": r.other_ref_num},
           children=(Child("customer_invoice_lines", "invoice_id", ITEM_LINE_COLUMNS, _item_lines, _lines_given,
                           "cdc_lines_version"),)),
    Mirror("customerpayment", "customer_payment",
           ("tran_id", "customer_id", "tran_date", "status", "currency", "total", "unapplied", "memo", "raw_json"),
           lambda r: (r.tran_id, _id(r.customer or r.entity), _day(r.tran_date), r.status, r.currency,
                      r.payment if r.payment is not None else r.total, r.unapplied, r.memo),
           customer=lambda rid, r: _id(r.customer or r.entity),
           ledger={"created": "payment.applied", "updated": "payment.applied", "deleted": "payment.deleted",
                   "sublists": "payment.sublists_updated"},
           payload=lambda r: {**_txn_payload(r), "total": r.payment if r.payment is not None else r.total,
                              "unapplied": r.unapplied, "applied": _applied_payload(r)},
           children=(Child("payment_application", "payment_id", (*APPLY_COLUMNS, "apply_date", "disc"),
                           _payment_applications, _applications_given, "cdc_apply_version", ("applied",)),)),
    Mirror("creditmemo", "credit_memo",
           ("tran_id", "customer_id", "created_from", "tran_date", "status", "currency", "total", "amount_remaining",
            "memo", "raw_json"),
           lambda r: (r.tran_id, _id(r.entity), _id(r.created_from), _day(r.tran_date), r.status, r.currency, r.total,
                      r.amount_remaining, r.memo),
           customer=lambda rid, r: _id(r.entity),
           ledger={"created": "creditmemo.posted", "updated": "creditmemo.updated", "deleted": "creditmemo.deleted",
                   "sublists": "creditmemo.sublists_updated"},
           payload=lambda r: {**_txn_payload(r), "created_from": _id(r.created_from), "memo": r.memo,
                              "amount_remaining": r.amount_remaining, "applied": _applied_payload(r),
                              "applied_invoice_ids": [_id(a.doc) for a in r.applied if a.doc]
                              if r.applications_given else None},
           children=(Child("credit_memo_application", "credit_memo_id", APPLY_COLUMNS, _applications,
                           _applications_given, "cdc_apply_version", ("applied", "applied_invoice_ids")),)),
)}
