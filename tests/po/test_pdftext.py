"""The sandboxed extractor: normal PDFs fast, hostile ones bounded, every outcome a clear reason."""
import asyncio
from pathlib import Path

import pytest

from tests.helpers import needs
from tests.po import hostile
from tests.po.layouts import build
from worker.po.pdftext import ExtractLimits, PdfExtractor, PdfRejected

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "bad_pdfs"


@pytest.fixture(scope="module")
def extractor():
    ex = PdfExtractor(ExtractLimits(timeout_s=5, max_pages=20, memory_bytes=512 * 1024 * 1024), workers=1)
    yield ex
    ex.close()


def _reason(ex: PdfExtractor, data: bytes) -> str:
    with pytest.raises(PdfRejected) as info:
        ex.extract(data)
    return info.value.reason


def test_text_pdfs_are_read_by_one_warm_process(extractor):
    # What keeps a normal PDF fast is the warm child: no process is spawned per PDF (the speed itself is
    # bench material, not a test's). Every read gives the same text, and the same child served them all.
    pdf, _ = build("classic_grid", seed=1)
    first = extractor.extract(pdf)
    [worker] = extractor._all
    pid, jobs = worker.proc.pid, worker.jobs
    outs = [extractor.extract(pdf) for _ in range(15)]
    assert first.has_text and first.page_count == 1 and "PURCHASE ORDER" in first.text
    assert all(out.text == first.text and out.page_count == 1 for out in outs)
    assert [(w.proc.pid, w.jobs) for w in extractor._all] == [(pid, jobs + 15)]


@pytest.mark.parametrize("data,reason", [
    (b"", "not a PDF (empty file)"), (b"hello, not a pdf at all", "not a PDF (no %PDF header)")])
def test_not_a_pdf(extractor, data, reason):
    assert _reason(extractor, data) == reason


def test_truncated_pdf(extractor):
    pdf, _ = build("classic_grid", seed=1)
    assert _reason(extractor, pdf[: len(pdf) // 3]).startswith("truncated or corrupt PDF: ")


def test_encrypted_pdf(extractor):
    pdf, _ = build("classic_grid", seed=1)
    assert _reason(extractor, hostile.encrypted(pdf)) == "encrypted PDF"


def test_owner_password_only_pdf_is_read(extractor):
    pdf, _ = build("classic_grid", seed=1)
    assert extractor.extract(hostile.encrypted(pdf, user_password="")).has_text


def test_too_many_pages(extractor):
    assert _reason(extractor, hostile.many_pages(25)) == "too many pages (25 > 20)"


def test_too_large():
    ex = PdfExtractor(ExtractLimits(max_bytes=1000))
    assert _reason(ex, b"%PDF-1.7\n" + b"x" * 2000) == "too large (2009 bytes > 1000)"


def test_page_tree_loop(extractor):
    reason = _reason(extractor, hostile.page_tree_loop())
    assert reason.startswith("truncated or corrupt PDF")


def test_deep_nesting_is_bounded(extractor):
    # Bounded by the parser itself: refused as corrupt by the child (not the timeout's kill, not a dead child),
    # and the pool still reads the next PDF.
    assert _reason(extractor, hostile.deep_nesting()).startswith("truncated or corrupt PDF: ")
    pdf, _ = build("classic_grid", seed=1)
    assert extractor.extract(pdf).has_text


def test_decompression_bomb_hits_memory_limit_and_worker_is_replaced():
    ex = PdfExtractor(ExtractLimits(timeout_s=20, memory_bytes=300 * 1024 * 1024))
    try:
        reason = _reason(ex, hostile.bomb(1500))
        assert "memory" in reason or reason.startswith("timed out")
        pdf, _ = build("classic_grid", seed=1)
        assert ex.extract(pdf).has_text  # the replacement worker serves the next PDF
    finally:
        ex.close()


def test_timeout_kills_and_replaces_worker():
    ex = PdfExtractor(ExtractLimits(timeout_s=0.001))
    pdf, _ = build("two_page", seed=1)
    try:
        ex._start()
        [late] = ex._all
        assert _reason(ex, pdf) == "timed out after 0.001s"
        assert late.proc.exitcode is not None and late not in ex._all  # retired: ended and out of the pool
        ex.limits = ExtractLimits(timeout_s=10)
        assert ex.extract(pdf).page_count == 2
    finally:
        ex.close()


def test_scanned_pdf_has_no_text(extractor):
    out = extractor.extract(hostile.many_pages(1))
    assert out.has_text is False and out.page_count == 1


@pytest.mark.asyncio
async def test_async_api_runs_off_the_loop(extractor):
    pdf, _ = build("side_by_side", seed=1)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    results = await asyncio.gather(*(extractor.extract_async(pdf) for _ in range(5)))
    task.cancel()
    assert all(r.has_text for r in results) and ticks > 1


def test_bad_pdf_corpus_is_bounded(extractor):
    needs(CORPUS.is_dir(), f"bad_pdfs corpus not found at {CORPUS}", installed_by_ci=False)
    extractor._start()
    for path in sorted(CORPUS.iterdir()):
        [before] = extractor._all
        try:
            out = extractor.extract(path.read_bytes())
            # read: every page it counts was read, and no more than the limit allows
            assert out.page_count == len(out.pages) and 1 <= out.page_count <= extractor.limits.max_pages, path.name
        except PdfRejected as exc:
            assert exc.reason, path.name
        # bounded: the child answered, or it was killed (timeout, memory) and a live one replaced it
        [after] = extractor._all
        assert after.proc.is_alive() and (after is before or before.proc.exitcode is not None), path.name
