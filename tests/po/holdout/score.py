"""Field-level scoring of a parsed PurchaseOrder against its expectation: precision and recall counts."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from worker.names import normalize_name
from worker.po.model import POLine, PurchaseOrder

FIELDS = ("po_number", "po_date", "requested_ship_date", "buyer", "bill_to", "ship_to", "currency", "subtotal",
          "freight", "other_charges", "tax", "total")
COLUMNS = ("customer_item_code", "description", "quantity", "uom", "unit_price", "amount")


def _norm(name: str, v):
    """The comparable form of a field value; None for 'not given' (None or an empty list)."""
    if v is None or v == []:
        return None
    if name == "buyer":
        return normalize_name(v)
    if name in ("bill_to", "ship_to"):
        return tuple(" ".join(s.split()).strip(" ,") for s in v)
    if name == "other_charges":  # wording varies ("Fuel surcharge" vs "FSC"); the signed amounts must match
        return tuple(sorted(c.amount for c in v))
    if name in ("po_number", "description", "customer_item_code", "uom", "currency") and isinstance(v, str):
        return " ".join(v.split()) or None
    return v


@dataclass
class Tally:
    """Counts for one field: values predicted, values expected, predictions that were right."""

    predicted: int = 0
    expected: int = 0
    correct: int = 0

    def add(self, exp, got) -> bool:
        """Score one value pair; returns True when the prediction matches."""
        self.expected += exp is not None
        self.predicted += got is not None
        ok = got is not None and got == exp
        self.correct += ok
        return ok

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.expected if self.expected else 1.0


@dataclass
class Score:
    """All tallies for a set of documents, plus which fields each layout got wrong."""

    fields: dict[str, Tally] = field(default_factory=lambda: {f: Tally() for f in FIELDS + ("line_count",)})
    columns: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in COLUMNS})
    lines: Tally = field(default_factory=Tally)
    misses: Counter = field(default_factory=Counter)  # (layout, field) -> documents wrong


def _cells(ln: POLine | None) -> tuple:
    return tuple(_norm(c, getattr(ln, c)) for c in COLUMNS) if ln else (None,) * len(COLUMNS)


def align(exp: list[POLine], got: list[POLine]) -> list[tuple[POLine | None, POLine | None]]:
    """Pair expected and predicted lines in order, maximizing agreeing cells (a skipped line shifts nothing)."""
    e, g = [_cells(x) for x in exp], [_cells(x) for x in got]
    n, m = len(e), len(g)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            same = sum(a is not None and a == b for a, b in zip(e[i], g[j]))
            pair = best[i + 1][j + 1] + same if same >= 2 else -1
            best[i][j] = max(pair, best[i + 1][j], best[i][j + 1])
    out, i, j = [], 0, 0
    while i < n and j < m:
        same = sum(a is not None and a == b for a, b in zip(e[i], g[j]))
        if same >= 2 and best[i][j] == best[i + 1][j + 1] + same:
            out.append((exp[i], got[j]))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            out.append((exp[i], None))
            i += 1
        else:
            out.append((None, got[j]))
            j += 1
    out += [(x, None) for x in exp[i:]] + [(None, y) for y in got[j:]]
    return out


def score_one(sc: Score, layout: str, exp: PurchaseOrder, got: PurchaseOrder) -> list[str]:
    """Add one document to the tallies; returns the names of the fields it got wrong or missed."""
    wrong = []
    for f in FIELDS:
        e, g = _norm(f, getattr(exp, f)), _norm(f, getattr(got, f))
        if not sc.fields[f].add(e, g) and (e is not None or g is not None):
            wrong.append(f)
    if not sc.fields["line_count"].add(len(exp.lines), len(got.lines) if got.lines else None):
        wrong.append("line_count")
    bad_cols = set()
    for a, b in align(exp.lines, got.lines):
        ca, cb = _cells(a), _cells(b)
        sc.lines.expected += a is not None
        sc.lines.predicted += b is not None
        sc.lines.correct += a is not None and b is not None and ca == cb
        for c, x, y in zip(COLUMNS, ca, cb):
            if not sc.columns[c].add(x, y) and (x is not None or y is not None):
                bad_cols.add(c)
    wrong += [f"lines.{c}" for c in COLUMNS if c in bad_cols]
    for w in wrong:
        sc.misses[(layout, w)] += 1
    return wrong
