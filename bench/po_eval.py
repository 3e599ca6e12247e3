"""Evaluate the PO parser on seeded fixture orders, the bad_pdfs corpus, and against pypdf's bare extract_text.

Field precision/recall and line exact-match on seeded layout variations, the bad_pdfs corpus outcomes, and the
timing of a one-page PO beside pypdf's bare extract_text.
Usage: python bench/po_eval.py [PER_LAYOUT] (or python -m bench.po_eval; 12 seeded orders per layout by default)
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.po.layouts import LAYOUTS, build  # noqa: E402
from worker.po.parser import ParseHints, parse_purchase_order  # noqa: E402
from worker.po.pdftext import ExtractLimits, PdfExtractor, PdfRejected  # noqa: E402

FIELDS = ["po_number", "po_date", "requested_ship_date", "buyer", "bill_to", "ship_to", "currency", "subtotal",
          "freight", "tax", "total", "other_charges"]
CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "bad_pdfs"


def variations(n_per_layout: int):
    """Seeded variations: different data, line counts and (for long orders) page breaks."""
    rng = random.Random(2026)
    for name in LAYOUTS:
        for _ in range(n_per_layout):
            seed = rng.randint(1, 10**6)
            kw = {"n_lines": rng.randint(2, 12)} if name != "two_page" else {"n_lines": rng.randint(26, 40)}
            yield name, seed, kw


def score(ex: PdfExtractor, n_per_layout: int) -> None:
    tp = fp = fn = 0
    per_field = Counter()
    lines_ok = lines_total = 0
    worst = Counter()
    for name, seed, kw in variations(n_per_layout):
        pdf, exp = build(name, seed=seed, **kw)
        got = parse_purchase_order(ex.extract(pdf), ParseHints(today=exp.po_date or exp.requested_ship_date))
        g, w = json.loads(got.model_dump_json()), json.loads(exp.model_dump_json())
        for f in FIELDS:
            empty_g, empty_w = g[f] in (None, []), w[f] in (None, [])
            if not empty_g and g[f] == w[f]:
                tp += 1
            elif not empty_g:
                fp += 1
                per_field[f] += 1
                worst[name] += 1
            if not empty_w and g[f] != w[f]:
                fn += 1
        lines_total += len(w["lines"])
        lines_ok += sum(1 for a, b in zip(g["lines"], w["lines"]) if a == b)
    print(f"header/totals fields: precision {tp / max(tp + fp, 1):.3f}  recall {tp / max(tp + fn, 1):.3f}  "
          f"(tp={tp} fp={fp} fn={fn}); wrong by field {dict(per_field)}; by layout {dict(worst)}")
    print(f"line exact-match: {lines_ok}/{lines_total} = {lines_ok / max(lines_total, 1):.3f}")


def corpus(ex: PdfExtractor) -> None:
    if not CORPUS.is_dir():
        print(f"bad_pdfs corpus not found at {CORPUS}; skipped")
        return
    outcomes, worst = Counter(), (0.0, "")
    for path in sorted(CORPUS.iterdir()):
        t = time.perf_counter()
        try:
            outcomes["text" if ex.extract(path.read_bytes()).has_text else "no text layer"] += 1
        except PdfRejected as exc:
            outcomes[exc.reason.split(":")[0].split(" (")[0]] += 1
        worst = max(worst, (time.perf_counter() - t, path.name))
    print(f"bad_pdfs ({sum(outcomes.values())} files): {dict(outcomes)}; slowest {worst[0] * 1000:.0f} ms ({worst[1]})")


def timing(ex: PdfExtractor) -> None:
    import pypdf

    pdf, exp = build("classic_grid", seed=7)
    bare, ours = [], []
    for _ in range(40):
        t = time.perf_counter()
        "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        parse_purchase_order(ex.extract(pdf))
        ours.append(time.perf_counter() - t)
    b, o = statistics.median(bare) * 1000, statistics.median(ours) * 1000
    print(f"one-page PO median: pypdf extract_text {b:.1f} ms; sandboxed extract + parse {o:.1f} ms "
          f"(ratio {o / b:.2f}x); p95 ours {sorted(ours)[int(len(ours) * .95)] * 1000:.1f} ms")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("per_layout", nargs="?", type=int, default=12, metavar="PER_LAYOUT",
                        help="seeded orders per fixture layout (default 12)")
    n = parser.parse_args(argv).per_layout
    ex = PdfExtractor(ExtractLimits(timeout_s=5), workers=1)
    try:
        t = time.perf_counter()
        score(ex, n)
        corpus(ex)
        timing(ex)
        print(f"total bench time {time.perf_counter() - t:.1f} s")
    finally:
        ex.close()


if __name__ == "__main__":
    main()
