"""`worker import-reference DIR` (SPEC 10): the operations team's curated files into their tables.

Each file present in DIR is the source of truth for its table: rows are upserted on their natural key,
rows the file no longer names are deleted, unchanged rows are not touched (a re-run changes nothing).
A file loads in its own transaction, begun IMMEDIATE so a concurrent writer makes it wait (busy_timeout) rather
than fail, or in a SAVEPOINT of the caller's transaction, which must then hold the write lock (BEGIN IMMEDIATE,
as the write thread's do): all or nothing by default; with `partial` the valid rows load and
the rejected ones are reported, and no row a rejected line may be meant to update is deleted (see `_sync`).
A file that cannot be read (permissions, a directory, an I/O error) is reported like a refused file: nothing of
it changes and the other files still load.
customer_item_xref is shared with the review page, which teaches it mappings (source 'reviewer'): an import
overrides the keys it names, however a row spells them (codes compare ignoring case, as the lookup does), but
only deletes rows that an import wrote when the file no longer names them.
A file that would delete more than half of the rows an import owns in its table is refused unless
`allow_deletes`: a truncated or half-exported file must not silently empty a price list.
A pricing_master file that inserted or updated rows may have priced their items, which staged
price_new_assembly_item requests ask about (a deleted row prices nothing): those requests are withdrawn in the file's
own transaction (or savepoint), by the workflow's rule, before it commits: a file refused or rolled back withdraws
nothing, and with `partial` what loaded is what they are judged against.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.env import iso, utcnow
from worker.flows.assembly_item import withdraw_priced
from worker.pricing import unit_code
from worker.reference_rows import (MAX_FILE_BYTES, CustomerProgramRow, ItemUnits, Parsed, PricingRow, RowError,
                                   SpecItemRow, XrefRow, compared_key, parse_csv, parse_synonyms)
from worker.write_lock import begin_immediate

# spec_items is imported before pricing_master (SPECS order), so this reads the units the prices will be looked up by.
ITEM_UNITS = "SELECT item_id, uom FROM spec_items"


@dataclass(frozen=True)
class TableSpec:
    """How one reference file maps onto its table."""

    file: str
    table: str
    key: tuple[str, ...]
    values: tuple[str, ...]
    parse: Callable[[str, bytes, ItemUnits | None], Parsed]
    owned: str = "1"  # SQL condition for rows this import may delete
    stamp: bool = False  # write source='import' and updated_at on insert/update
    # How the lookups compare the key columns (the row model's COMPARED): rows equal under it are one key.
    compared: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    by_item_unit: bool = False  # a blank uom in the key is the item's own unit (spec_items), compared as that
    settles: str | None = None  # the key column of the items whose rows written may answer staged requests (_settle)

    def fold(self, key: tuple[str, ...], units: ItemUnits | None = None) -> tuple[str, ...]:
        """The key as the lookups compare it ('df-1' and 'DF-1' alike; a blank uom as the item's unit)."""
        return compared_key(self.compared, self.key, key, units)  # type: ignore[return-value]  # no None in a key

    def select_sql(self) -> str:
        """All rows' key and value columns."""
        return f"SELECT {', '.join(self.key + self.values)}, {self.owned} FROM {self.table}"

    def insert_sql(self) -> str:
        """Insert one row (named parameters)."""
        cols = self.key + self.values + (("source", "updated_at") if self.stamp else ())
        return f"INSERT INTO {self.table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"

    def update_sql(self) -> str:
        """Update one row's values by its key."""
        cols = self.values + (("source", "updated_at") if self.stamp else ())
        where = " AND ".join(f"{c} = :{c}" for c in self.key)
        return f"UPDATE {self.table} SET {', '.join(f'{c} = :{c}' for c in cols)} WHERE {where}"

    def delete_sql(self) -> str:
        """Delete one row by its key."""
        return f"DELETE FROM {self.table} WHERE " + " AND ".join(f"{c} = :{c}" for c in self.key)


def _csv(model: Any, key: tuple[str, ...]) -> Callable[[str, bytes, ItemUnits | None], Parsed]:
    return lambda name, data, units: parse_csv(name, data, model, key, units)


SPECS = (
    TableSpec("name_synonyms.json", "name_synonyms", ("kind", "normalized"), ("synonym", "customer_id"),
              lambda name, data, _units: parse_synonyms(name, data)),
    TableSpec("customer_program.csv", "customer_program", ("customer_id",),
              ("program", "markup_pct", "freight_terms", "payment_terms_days", "usda_eligible"),
              _csv(CustomerProgramRow, ("customer_id",))),
    TableSpec("spec_items.csv", "spec_items", ("item_id",), ("item_code", "description", "uom", "is_assembly",
                                                             "pack_size"), _csv(SpecItemRow, ("item_id",))),
    TableSpec("pricing_master.csv", "pricing_master", ("item_id", "customer_id", "uom", "effective_from"),
              ("unit_price", "effective_to"), _csv(PricingRow, ("item_id", "customer_id", "uom", "effective_from")),
              compared=PricingRow.COMPARED, by_item_unit=True, settles="item_id"),
    TableSpec("customer_item_xref.csv", "customer_item_xref", ("customer_id", "customer_item_code"), ("item_id",),
              _csv(XrefRow, ("customer_id", "customer_item_code")), owned="source = 'import'", stamp=True,
              compared=XrefRow.COMPARED),
)
FILE_NAMES = tuple(spec.file for spec in SPECS)


@dataclass
class FileReport:
    """What importing one file did."""

    file: str
    table: str
    loaded: bool = False
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    kept: int = 0  # rows absent from the file but not deleted: a rejected line may be meant to update them
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Rows (or whole-file problems) that were not loaded."""
        return len(self.errors)

    def summary(self) -> str:
        """One line for the operator."""
        state = "loaded" if self.loaded else "NOT LOADED"
        kept = f", kept {self.kept} (not deleted: a rejected line may update them)" if self.kept else ""
        return (f"{self.file} -> {self.table}: {state}: inserted {self.inserted}, updated {self.updated}, "
                f"deleted {self.deleted}, unchanged {self.unchanged}, rejected {self.rejected}{kept}")


@dataclass
class Report:
    """The whole import: one FileReport per file found."""

    files: list[FileReport] = field(default_factory=list)

    @property
    def errors(self) -> list[RowError]:
        """Every rejected row, in file order."""
        return [e for f in self.files for e in f.errors]

    @property
    def ok(self) -> bool:
        """True when every file loaded without a rejected row."""
        return all(f.loaded and not f.errors for f in self.files)

    def by_file(self) -> dict[str, FileReport]:
        """The file reports keyed by file name."""
        return {f.file: f for f in self.files}


class MassDelete(Exception):
    """The file would delete more than half of its table's import-owned rows."""


def import_reference(conn: sqlite3.Connection, directory: Path | str, *, partial: bool = False,
                     allow_deletes: bool = False, today: str | None = None) -> Report:
    """Load whichever reference files DIR holds, each in its own savepoint; returns what happened. `today`: the
    company's date, which an order without a date is judged on (_settle); by default the UTC one."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory}: not a directory")
    report = Report()
    for spec in SPECS:
        path = directory / spec.file
        if os.path.lexists(path):  # whatever carries the name: a directory or a broken link is reported, not skipped
            report.files.append(_import_file(conn, spec, path, partial, allow_deletes, today))
    return report


def _settle(conn: sqlite3.Connection, today: str | None, items: set[str]) -> None:
    """Withdraw the price requests for the items whose pricing_master rows the file inserted or updated that a price
    answers now, in the caller's transaction (the file's)."""
    now = utcnow()
    withdraw_priced(conn, iso(now), today or now.date().isoformat(), items)


def _import_file(conn: sqlite3.Connection, spec: TableSpec, path: Path, partial: bool,
                 allow_deletes: bool, today: str | None) -> FileReport:
    result = FileReport(spec.file, spec.table)
    try:
        data = _read_regular_file(path)
    except OSError as exc:
        result.errors.append(RowError(spec.file, None, f"cannot read: {exc.strerror or exc}"))
        return result
    units = _item_units(conn) if spec.by_item_unit else None
    parsed = spec.parse(spec.file, data, units)
    result.errors = parsed.errors
    if parsed.fatal or (parsed.errors and not partial):
        return result
    # The write lock before the first read: a transaction that reads, then writes after another connection
    # committed, cannot be upgraded (SQLite answers "locked" at once, without waiting busy_timeout).
    # Inside a caller's transaction (the demo loader's BEGIN IMMEDIATE) that transaction is left to the caller.
    own = not conn.in_transaction
    if own:
        begin_immediate(conn)
    try:
        conn.execute("SAVEPOINT import_reference")
        written = _sync_or_refuse(conn, spec, parsed, result, allow_deletes, units)
        if spec.settles and written:  # before the release: a failure here undoes the file too
            _settle(conn, today, {key[spec.key.index(spec.settles)] for key in written})
        conn.execute("RELEASE import_reference")
        if own:
            conn.execute("COMMIT")
    except BaseException:
        # Anything else (locked, disk full, a bug) fails the import, and nothing of this file may stay:
        # releasing the savepoint now would keep (and in our own transaction commit) the rows written so far.
        if conn.in_transaction:
            conn.execute("ROLLBACK" if own else "ROLLBACK TO import_reference")
            if not own:
                conn.execute("RELEASE import_reference")
        raise
    return result


def _sync_or_refuse(conn: sqlite3.Connection, spec: TableSpec, parsed: Parsed, result: FileReport,
                    allow_deletes: bool, units: ItemUnits | None) -> list[tuple[str, ...]]:
    """Sync the file; a refusal (constraint, mass delete) undoes it to the savepoint and is reported. Returns the keys
    of the rows inserted or updated (none when refused)."""
    try:
        written = _sync(conn, spec, parsed, result, allow_deletes, units)
    except (sqlite3.IntegrityError, MassDelete) as exc:
        conn.execute("ROLLBACK TO import_reference")
        reason = str(exc) if isinstance(exc, MassDelete) else f"database refused the file: {exc}"
        result.errors.append(RowError(spec.file, None, reason))
        result.inserted = result.updated = result.deleted = result.unchanged = result.kept = 0
        return []
    result.loaded = True
    return written


def _item_units(conn: sqlite3.Connection) -> dict[str, str]:
    """Each item's own unit as a code; items without one are left out (their blank-unit rows stay blank)."""
    return {item_id: code for item_id, uom in conn.execute(ITEM_UNITS) if (code := unit_code(uom))}


def _read_regular_file(path: Path) -> bytes:
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it is then refused like any other non-file.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        if info.st_size > MAX_FILE_BYTES:  # refused by its size, before a byte of it is held in memory
            raise OSError(errno.EFBIG, f"file is {info.st_size} bytes, over the {MAX_FILE_BYTES} limit")
        with open(fd, "rb", closefd=False) as file:
            return file.read(MAX_FILE_BYTES + 1)  # a file still growing is cut there, and refused by the parser
    finally:
        os.close(fd)


def _db_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _sync(conn: sqlite3.Connection, spec: TableSpec, parsed: Parsed, result: FileReport,
          allow_deletes: bool, units: ItemUnits | None = None) -> list[tuple[str, ...]]:
    """Make the table what the file says; returns the keys of the rows inserted or updated."""
    width = len(spec.key)
    existing: dict[tuple[str, ...], tuple[tuple[Any, ...], bool]] = {}
    for row in map(tuple, conn.execute(spec.select_sql())):
        existing[tuple(str(v) for v in row[:width])] = (tuple(row[width:-1]), bool(row[-1]))
    keyed = [(tuple(str(row[c]) for c in spec.key), row) for row in parsed.rows]
    named = {key for key, _row in keyed}
    named_as_compared = {spec.fold(key, units) for key in named}
    # A row spelling a named key otherwise ('DF-1' for the file's 'df-1', 'Case' for 'CS') is that key to the
    # lookups, which would pick either: the file's row replaces it, whoever wrote it (an import overrides the
    # keys it names). A replacement, not a removal, so it does not count toward the mass-delete guard.
    respelled = [key for key in existing if key not in named and spec.fold(key, units) in named_as_compared]
    owned = [key for key, (_values, is_owned) in existing.items() if is_owned]
    absent = [key for key in owned if spec.fold(key, units) not in named_as_compared]
    # With --partial, a row absent from the file may be the one a rejected line was meant to update (a typo in
    # its date, say): deleting it would lose data the operator never meant to remove, so it is kept, and counted.
    doomed = [key for key in absent if not parsed.may_mean(spec.fold(key, units))]
    result.kept = len(absent) - len(doomed)
    if len(doomed) * 2 > len(owned) and not allow_deletes:
        raise MassDelete(f"would delete {len(doomed)} of the {len(owned)} rows in {spec.table} (more than half); "
                         "nothing was changed: is the file truncated? Pass --allow-deletes if the removal is intended")
    stamp = {"source": "import", "updated_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")}
    for key in respelled:
        conn.execute(spec.delete_sql(), dict(zip(spec.key, key, strict=True)))
        result.deleted += 1
    written = []
    for key, row in keyed:
        params = {c: _db_value(v) for c, v in row.items()} | (stamp if spec.stamp else {})
        if key not in existing:
            conn.execute(spec.insert_sql(), params)
            result.inserted += 1
            written.append(key)
        elif existing[key][0] != tuple(params[c] for c in spec.values):
            conn.execute(spec.update_sql(), params)
            result.updated += 1
            written.append(key)
        else:
            result.unchanged += 1
    for key in doomed:
        conn.execute(spec.delete_sql(), dict(zip(spec.key, key, strict=True)))
        result.deleted += 1
    return written
