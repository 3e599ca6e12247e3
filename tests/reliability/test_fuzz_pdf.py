"""Hostile PDFs: hypothesis mutations of generated purchase orders and of the shared bad-PDF corpus through
`analyze_orders`, the pipeline's own entry (sandboxed extraction with page/size/time/memory limits, then the parser).

Whatever the bytes: no exception, no hang past the extractor's time limit, and an explained outcome: a
parsed order with lines, or `needs_manual` with a reason a person can act on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CORPORA
from tests.po.layouts import build
from tests.reliability.conftest import FUZZ_LARGE, FUZZ_SMALL
from worker.env import Env
from worker.intake.analyze import analyze_orders, extractor
from worker.po.parser import ParseHints, parse_purchase_order
from worker.po.textlayer import ExtractedPdf, PageText

BAD_PDFS = sorted((CORPORA / "bad_pdfs").glob("*.pdf")) if (CORPORA / "bad_pdfs").is_dir() else []
LAYOUTS = ("classic_grid",)
TODAY = date(2026, 11, 20)
_generated: dict[int, bytes] = {}


def generated(seed: int) -> bytes:
    """A generated PO PDF (cached: reportlab is the slow part)."""
    if seed not in _generated:
        _generated[seed] = build(LAYOUTS[0], seed)[0]
    return _generated[seed]


def mutate(data: bytes, rng: random.Random, rounds: int) -> bytes:
    """Flip bits, cut, splice junk or repeat slices; keeps the %PDF header most of the time so the parser is reached."""
    out = bytearray(data)
    for _ in range(rounds):
        if len(out) < 2:
            break
        at = rng.randrange(min(16, len(out) - 1), len(out))  # past the header when there is one
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randrange(1, 20)):
                out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del out[at:]
        elif kind == 2:
            out[at:at] = rng.choice([b"<<" * 200, b"[" * 500, b"/Length 999999999", b"stream\n" + rng.randbytes(200),
                                     b" 0 R" * 100, b"xref\n0 99999\n", rng.randbytes(64)])
        else:
            end = min(len(out), at + rng.randrange(1, 2000))
            out[at:at] = out[at:end] * rng.randrange(2, 5)
    return bytes(out)


@pytest.fixture
def pdf_env(make_env: Callable[..., Env]) -> Iterator[Env]:
    """An env whose extractor has a 3 s limit per PDF (the fuzz must stay quick); its children are stopped after."""
    env = make_env()
    limits = env.settings.limits.model_copy(update={"pdf_timeout_seconds": 3, "pdf_max_pages": 20})
    env.settings = env.settings.model_copy(update={"limits": limits})
    yield env
    extractor = env.extras.pop("pdf_extractor", None)
    if extractor is not None:
        extractor.close()  # type: ignore[attr-defined]


def analysed(env: Env, data: bytes) -> None:
    """The outcome is explained, whatever the bytes."""
    results = asyncio.run(analyze_orders(env, data, TODAY))
    assert results
    for result in results:
        if result.status == "pending":
            assert result.po is not None and result.po.lines
        else:
            assert result.reason and result.reason.strip(), result
            assert not result.reason.startswith("parser error"), f"the PO parser crashed: {result.reason}"


sources = st.one_of(st.integers(1, 6).map(lambda seed: ("generated", seed)),
                    st.sampled_from(BAD_PDFS or [Path("/dev/null")]).map(lambda p: ("corpus", p)))


def pick(source: tuple[str, object]) -> bytes:
    """The bytes a drawn source names."""
    kind, which = source
    return generated(which) if kind == "generated" else Path(which).read_bytes()  # type: ignore[arg-type]


@settings(FUZZ_SMALL, max_examples=25)
@given(source=sources, seed=st.integers(0, 2**32), rounds=st.integers(1, 4))
def test_mutated_pdfs_are_explained(pdf_env: Env, corpora: Path, source: tuple[str, object], seed: int,
                                    rounds: int) -> None:
    analysed(pdf_env, mutate(pick(source), random.Random(seed), rounds))


@pytest.mark.slow
@settings(FUZZ_LARGE, max_examples=300)
@given(source=sources, seed=st.integers(0, 2**32), rounds=st.integers(1, 4))
def test_mutated_pdfs_are_explained_long(pdf_env: Env, corpora: Path, source: tuple[str, object], seed: int,
                                         rounds: int) -> None:
    analysed(pdf_env, mutate(pick(source), random.Random(seed), rounds))


def test_every_corpus_pdf_is_explained(pdf_env: Env, corpora: Path) -> None:
    for path in BAD_PDFS:
        analysed(pdf_env, path.read_bytes())


# The parser behind the extractor: mutate the positioned text of real generated orders (byte mutations of a
# compressed PDF rarely get past the extractor, so this is where layout-rule fuzzing has to happen).
_layers: dict[int, ExtractedPdf] = {}
junk_text = st.one_of(st.text(max_size=30), st.sampled_from(
    ["1,2,3.4.5", "$-0.00", "2026-13-45", "99/99/9999", "Qty", "TOTAL", "PO #", "Ship To:", "1e309", "NaN", "-",
     "12 CS @ 4.50", "\u00a0", "Subtotal 1,000,000,000,000.00", "Page 1 of 0"]))


def text_layer(pdf_env: Env, seed: int) -> ExtractedPdf:
    """The extracted text layer of a generated order (cached)."""
    if seed not in _layers:
        _layers[seed] = extractor(pdf_env).extract(generated(seed))
    return _layers[seed]


@st.composite
def mutated_layer(draw: st.DrawFn, original: ExtractedPdf) -> ExtractedPdf:
    """Lines dropped, duplicated or swapped, fragment texts replaced, positions jittered."""
    pages = []
    for page in original.pages:
        lines = [list(line) for line in page.lines]
        for _ in range(draw(st.integers(0, 6))):
            if not lines:
                break
            i = draw(st.integers(0, len(lines) - 1))
            action = draw(st.sampled_from(["drop", "dup", "swap", "text", "move"]))
            if action == "drop":
                del lines[i]
            elif action == "dup":
                lines.insert(i, list(lines[i]))
            elif action == "swap":
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            elif lines[i]:
                k = draw(st.integers(0, len(lines[i]) - 1))
                f = lines[i][k]
                lines[i][k] = (replace(f, text=draw(junk_text)) if action == "text" else
                               replace(f, x0=f.x0 + draw(st.floats(-200, 200)), x1=f.x1 + draw(st.floats(-200, 200))))
        pages.append(PageText(lines=lines))
    return ExtractedPdf(pages=pages, page_count=original.page_count, has_text=True)


def parsed(layer: ExtractedPdf) -> None:
    """The parser returns a PurchaseOrder that serializes, whatever the text."""
    po = parse_purchase_order(layer, ParseHints(today=TODAY))
    assert po.model_dump_json()


@FUZZ_SMALL
@given(data=st.data(), seed=st.integers(1, 4))
def test_parser_survives_mutated_text_layers(pdf_env: Env, data: st.DataObject, seed: int) -> None:
    parsed(data.draw(mutated_layer(text_layer(pdf_env, seed))))


@pytest.mark.slow
@FUZZ_LARGE
@given(data=st.data(), seed=st.integers(1, 8))
def test_parser_survives_mutated_text_layers_long(pdf_env: Env, data: st.DataObject, seed: int) -> None:
    parsed(data.draw(mutated_layer(text_layer(pdf_env, seed))))
