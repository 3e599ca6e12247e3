"""Second look at a read table: decide ambiguous columns from their contents, across all rows at once."""
from __future__ import annotations

import re
from itertools import pairwise
from typing import TYPE_CHECKING

from worker.po.columns import CODE_ROLES, base

if TYPE_CHECKING:
    from worker.po.table import Row

# "#10234 Chicken breast", "AB-1234 Napkin", "FD.0003.590 Buns": a code token (letters and 3+ digits, 4+ bare
# digits, or '#' and 3+ digits), then words. "#10 CAN" and "100 CT" are sizes, not codes.
_EMBEDDED = re.compile(r"^(?:#\s*(\d{3,}[A-Z0-9/.-]*)|((?:[A-Z]{1,4}[-/.]?\d{3,}|\d{4,})[A-Z0-9/.-]*))(?:\s+(?=[A-Za-z(])|$)")
_WORDY = re.compile(r"[A-Za-z]{2,}(?:\W+[A-Za-z0-9%#/&'.-]+){1,}")


def _values(rows: list[Row], key: str) -> list[str]:
    return [r.cells.get(key, "").strip() for r in rows]


def _is_sequence(vals: list[str]) -> bool:
    # Line numbers count up evenly from the start (1, 2, 3 or 0010, 0020); item codes may be consecutive
    # (10231, 10232, 10233: products set up together) but never start where line numbers do.
    if not all(re.fullmatch(r"\d{1,6}", v) for v in vals):
        return False
    nums = [int(v) for v in vals]
    steps = {b - a for a, b in pairwise(nums)}
    if len(nums) == 2:
        return nums[0] in (1, 10) and steps <= {1, 10} and nums[1] - nums[0] == nums[0]
    return len(nums) >= 3 and len(steps) == 1 and (step := steps.pop()) > 0 and nums[0] in (1, step)


def _rename(rows: list[Row], old: str, new: str) -> None:
    for r in rows:
        if old in r.cells:
            r.cells[new] = r.cells.pop(old)


def _line_numbers(rows: list[Row], keys: set[str]) -> None:
    if any(r.cells.get("line_no") for r in rows):
        return
    for k in sorted(keys):
        if base(k) in CODE_ROLES and _is_sequence(_values(rows, k)):
            _rename(rows, k, "line_no")
            return


def _description(rows: list[Row], keys: set[str]) -> None:
    # "Product" or a second "Item" column can hold the description; words, not codes, give it away.
    if any(r.cells.get("description") for r in rows):
        return
    scored = []
    for k in keys:
        vals = _values(rows, k)
        if base(k) in CODE_ROLES and sum(bool(_WORDY.search(v)) and " " in v for v in vals) >= 0.8 * len(vals):
            scored.append((sum(len(v) for v in vals), k))
    if scored:
        _rename(rows, max(scored)[1], "description")


def _merge_repeats(rows: list[Row], keys: set[str]) -> None:
    # Two columns of one role that survive the checks above are read together, as before.
    for k in sorted(keys):
        if "." in k and not k.startswith("other"):
            for r in rows:
                extra = r.cells.pop(k, "")
                r.cells[base(k)] = " ".join(x for x in (r.cells.get(base(k), ""), extra) if x)


def _embedded_codes(rows: list[Row]) -> None:
    if any(r.cells.get(k) for r in rows for k in r.cells if base(k) in CODE_ROLES):
        return
    hits = [_EMBEDDED.match(r.cells.get("description", "")) for r in rows]
    # A code alone on the description's first line ("part number over description") needs the wrapped rest.
    hits = [h if h and (h.end() < len(r.cells["description"]) or r.desc_extra) else None for h, r in zip(hits, rows)]
    matched = [h for h in hits if h]
    # One odd row could be a description that starts with a number; most rows agreeing is a layout.
    if not matched or len(matched) < 0.8 * len(rows) or (len(rows) < 3 and not all(
            h.group(0).startswith("#") or r.desc_extra for h, r in zip(hits, rows) if h)):
        return
    for r, h in zip(rows, hits):
        if h:
            r.cells["code"] = h.group(1) or h.group(2)
            rest = r.cells["description"][h.end():].strip()
            r.cells["description"] = rest or " ".join(r.desc_extra)
            r.desc_extra = r.desc_extra if rest else []


def refine(rows: list[Row]) -> None:
    """Re-role columns by content: line numbers, descriptions under code-like headers, codes inside descriptions."""
    if not rows:
        return
    keys = {k for r in rows for k in r.cells}
    _line_numbers(rows, keys)
    keys = {k for r in rows for k in r.cells}
    _description(rows, keys)
    _merge_repeats(rows, {k for r in rows for k in r.cells})
    _embedded_codes(rows)
