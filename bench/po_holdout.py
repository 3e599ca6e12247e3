"""Hold-out evaluation of the PO parser: field-level precision/recall on layouts it was not written against.

    python bench/po_holdout.py                    # 14 layouts x 4 seeds
    python bench/po_holdout.py --seeds 8 --misses # more documents, and which layout misses which field
    python bench/po_holdout.py --set B            # the blind set, written after the parser was tuned on set A
    python bench/po_holdout.py --save /tmp/before.json ; ... ; python bench/po_holdout.py --compare /tmp/before.json

A field predicted None counts against recall only; a wrong value counts against precision (and recall).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Run as a script: import the project (and its tests' generators) from the repository root.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from tests.po.holdout import BLIND, LAYOUTS, documents  # noqa: E402
from tests.po.holdout.score import COLUMNS, FIELDS, Score, score_one  # noqa: E402
from worker.po.parser import parse_purchase_order  # noqa: E402
from worker.po.textlayer import extract_pdf  # noqa: E402


def evaluate(seeds: tuple[int, ...], names: list[str], only: str | None = None
             ) -> tuple[Score, dict[str, list[int]], float, int]:
    """Parse every hold-out document; returns the score, per-layout (fields right, fields total), parse seconds, docs."""
    sc, per_layout, spent, n = Score(), {name: [0, 0] for name in names}, 0.0, 0
    for name, _seed, pdf, exp in documents(seeds, names):
        if only and only not in name:
            continue
        t = time.perf_counter()
        got = parse_purchase_order(extract_pdf(pdf, 50))
        spent += time.perf_counter() - t
        n += 1
        wrong = score_one(sc, name, exp, got)
        per_layout[name][0] += len(FIELDS) + 1 + len(COLUMNS) - len(wrong)
        per_layout[name][1] += len(FIELDS) + 1 + len(COLUMNS)
    return sc, per_layout, spent, n


def figures(sc: Score) -> dict[str, list[float]]:
    """Flat {row name: [precision, recall]} for printing and saving."""
    rows = {f: [t.precision, t.recall] for f, t in sc.fields.items()}
    rows["lines (exact)"] = [sc.lines.precision, sc.lines.recall]
    rows |= {f"lines.{c}": [t.precision, t.recall] for c, t in sc.columns.items()}
    fp = [t for f, t in sc.fields.items()]
    rows["ALL HEADER+TOTALS FIELDS"] = [sum(t.correct for t in fp) / max(1, sum(t.predicted for t in fp)),
                                        sum(t.correct for t in fp) / max(1, sum(t.expected for t in fp))]
    cols = list(sc.columns.values())
    rows["ALL LINE CELLS"] = [sum(t.correct for t in cols) / max(1, sum(t.predicted for t in cols)),
                              sum(t.correct for t in cols) / max(1, sum(t.expected for t in cols))]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the hold-out evaluation and print precision/recall tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4, help="documents per layout")
    ap.add_argument("--layout", help="only layouts whose name contains this")
    ap.add_argument("--set", choices=("A", "B", "all"), default="A",
                    help="A: the 14 layouts the parser was improved against; B: 6 written afterwards (blind)")
    ap.add_argument("--misses", action="store_true", help="list (layout, field) misses")
    ap.add_argument("--save", type=Path, help="write the figures as JSON")
    ap.add_argument("--compare", type=Path, help="a saved JSON to show as 'before'")
    args = ap.parse_args(argv)
    names = {"A": list(LAYOUTS), "B": list(BLIND), "all": list(LAYOUTS) + list(BLIND)}[args.set]
    sc, per_layout, spent, n = evaluate(tuple(range(1, args.seeds + 1)), names, args.layout)
    rows = figures(sc)
    before = json.loads(args.compare.read_text()) if args.compare else {}
    con = Console()
    scored = sum(1 for _right, total in per_layout.values() if total)  # --layout scores only some of them
    t = Table(title=f"PO parser hold-out set {args.set}: {n} documents, {scored} layouts")
    t.add_column("field")
    if before:
        t.add_column("P before", justify="right")
        t.add_column("R before", justify="right")
    t.add_column("precision", justify="right")
    t.add_column("recall", justify="right")
    for k, (p, r) in rows.items():
        b = [f"{x:.3f}" for x in before.get(k, [float("nan")] * 2)] if before else []
        t.add_row(k, *b, f"{p:.3f}", f"{r:.3f}")
    con.print(t)
    lt = Table(title="per layout: fields right / scored (header+totals+line count+6 line columns)")
    lt.add_column("layout")
    lt.add_column("right", justify="right")
    for name, (ok, tot) in per_layout.items():
        if tot:
            lt.add_row(name, f"{ok}/{tot} = {ok / tot:.2f}")
    con.print(lt)
    if args.misses:
        for (layout, f), k in sorted(sc.misses.items()):
            con.print(f"  {layout:16} {f:28} {k}")
    con.print(f"parse time: {spent / max(n, 1) * 1000:.1f} ms per document (pypdf extraction + rules, in-process)")
    if args.save:
        args.save.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
