"""Sandboxed PDF reading: warm child processes with byte, page, time and memory limits that extract a PDF's text
layer and (`read`) parse its orders from it, so a layout that is slow or large to parse is stopped like a PDF that is
slow or large to extract."""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.po.textlayer import ExtractedPdf, Fragment, PageText  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from worker.po.parser import OrderPart, ParseHints

NO_TEXT_LAYER = "no text layer (scanned image)"
_PARSING = "parsing"  # the child's word that extraction is done and the parse has begun: its time limit starts


def layout_too_slow(timeout_s: float) -> str:
    """Why a PDF whose text was extracted is not read: its layout took longer to parse than the time limit."""
    return f"the PDF's layout took too long to read (over the {timeout_s:g} s limit for reading a PDF)"


def layout_too_large(memory_bytes: int, detail: str = "") -> str:
    """Why a PDF whose text was extracted is not read: parsing its layout ran out of the memory limit."""
    return f"the PDF's layout took too much memory to read (over the {memory_bytes >> 20} MB limit{detail})"


class PdfRejected(Exception):
    """A PDF we refuse to read; `reason` is a short human explanation."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ExtractLimits:
    """Bounds applied to every untrusted PDF."""

    max_bytes: int = 25 * 1024 * 1024
    max_pages: int = 50
    timeout_s: float = 10.0
    memory_bytes: int = 768 * 1024 * 1024
    jobs_per_worker: int = 500  # recycle now and then so a leak or fragmentation cannot grow forever
    parse_timeout_s: float | None = None  # the layout parse's own limit after extraction; None: timeout_s

    @property
    def parse_limit_s(self) -> float:
        """How long the parse of an extracted PDF may take."""
        return self.timeout_s if self.parse_timeout_s is None else self.parse_timeout_s


@dataclass(frozen=True)
class PdfRead:
    """A PDF read in the sandbox: whether it has a text layer and, if so, the orders parsed from it."""

    has_text: bool
    parts: list[OrderPart]


def _parse(conn, extracted: ExtractedPdf, hints: ParseHints, memory_bytes: int) -> tuple[str, object]:
    # In the child, after extraction, under the same memory cap; the parent times the parse from the _PARSING word.
    if not extracted.has_text:
        return "ok", PdfRead(False, [])
    from worker.po.parser import parse_purchase_orders

    conn.send((_PARSING, None))
    try:
        return "ok", PdfRead(True, parse_purchase_orders(extracted, hints))
    except MemoryError:
        return "fatal", layout_too_large(memory_bytes)
    except Exception as exc:  # a parser bug on one odd layout: that PDF needs a person, the worker goes on
        return "rejected", f"parser error: {type(exc).__name__}: {exc}"[:300]


def _child_main(conn, memory_bytes: int) -> None:
    # Runs in the child: cap the address space first, so a decompression bomb hits MemoryError here.
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    import logging

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # fuzzed files log thousands of warnings
    from pypdf.errors import LimitReachedError

    from worker.po.textlayer import extract_pdf

    while True:
        try:
            data, max_pages, hints = conn.recv()
        except (EOFError, OSError):
            return
        try:
            extracted = extract_pdf(data, max_pages)
            reply = ("ok", extracted) if hints is None else _parse(conn, extracted, hints, memory_bytes)
        except ValueError as exc:
            reply = ("rejected", str(exc) if str(exc).startswith(("encrypted", "too many")) else
                     f"truncated or corrupt PDF: {exc}")
        except LimitReachedError as exc:  # pypdf's own inflate cap fires before RLIMIT_AS would
            reply = ("rejected", f"exceeded memory limit (decompression bomb: {exc})")
        except MemoryError:
            reply = ("fatal", "exceeded memory limit")
        except RecursionError:
            reply = ("fatal", "truncated or corrupt PDF: nesting too deep")
        except Exception as exc:  # pypdf raises many types on garbage; all mean the same to us
            reply = ("rejected", f"truncated or corrupt PDF: {exc or type(exc).__name__}"[:300])
        try:
            conn.send(reply)
        except MemoryError:
            conn.send(("fatal", "exceeded memory limit"))


class _Worker:
    """One warm extraction process and its pipe."""

    def __init__(self, ctx, limits: ExtractLimits):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_child_main, args=(child, limits.memory_bytes), daemon=True,
                                name="pdf-extract")
        self.proc.start()
        child.close()
        self.jobs = 0

    def run(self, data: bytes, limits: ExtractLimits, hints: ParseHints | None = None) -> tuple[str, object]:
        """Extract (and, given hints, parse) one PDF; extraction and parse each get their time limit."""
        self.jobs += 1
        parsing = False
        try:
            self.conn.send((data, limits.max_pages, hints))
            while True:
                if not self.conn.poll(limits.parse_limit_s if parsing else limits.timeout_s):
                    return "fatal", layout_too_slow(limits.parse_limit_s) if parsing else \
                        f"timed out after {limits.timeout_s:g}s"
                status, payload = self.conn.recv()
                if status != _PARSING:
                    return status, payload
                parsing = True
        except (EOFError, OSError, BrokenPipeError):
            self.proc.join(0.5)
            code = self.proc.exitcode
            # The kernel's OOM killer or an allocator abort under RLIMIT_AS shows up as a dead child.
            if parsing:
                return "fatal", layout_too_large(limits.memory_bytes, f"; the reading process died, exit code {code}")
            return "fatal", f"extraction process died (exit code {code}); likely exceeded memory limit"

    def kill(self) -> None:
        self.conn.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(2)


def precheck(data: bytes, limits: ExtractLimits) -> None:
    """Cheap checks done before handing bytes to a child process."""
    if len(data) > limits.max_bytes:
        raise PdfRejected(f"too large ({len(data)} bytes > {limits.max_bytes})")
    if not data:
        raise PdfRejected("not a PDF (empty file)")
    if b"%PDF-" not in data[:1024]:  # readers accept junk before the header; so do we, a little
        raise PdfRejected("not a PDF (no %PDF header)")


class PdfExtractor:
    """A small pool of warm sandboxed extraction processes; killed workers are replaced."""

    def __init__(self, limits: ExtractLimits | None = None, workers: int = 1):
        self.limits = limits or ExtractLimits()
        self._ctx = mp.get_context("spawn")  # never fork a threaded server process
        self._size = workers
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._started = False
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()

    def _new(self) -> _Worker:
        w = _Worker(self._ctx, self.limits)
        self._all.add(w)
        return w

    def _start(self) -> None:
        with self._lock:
            if not self._started:
                for _ in range(self._size):
                    self._idle.put(self._new())
                self._started = True

    def _retire(self, w: _Worker) -> None:
        w.kill()
        self._all.discard(w)
        self._idle.put(self._new())  # start the replacement now so the next PDF finds it warm

    def extract(self, data: bytes) -> ExtractedPdf:
        """Extract positioned text, or raise PdfRejected; has_text=False marks a scanned PDF."""
        return self._job(data, None)  # type: ignore[return-value]

    def read(self, data: bytes, hints: ParseHints) -> PdfRead:
        """Extract and parse a PDF's orders in the sandbox, or raise PdfRejected: the parse has the extraction's
        time and memory limits (a 2 KB PDF of 40,000 lines on one page parsed for minutes in-process)."""
        return self._job(data, hints)  # type: ignore[return-value]

    def _job(self, data: bytes, hints: ParseHints | None) -> ExtractedPdf | PdfRead:
        precheck(data, self.limits)
        self._start()
        w = self._idle.get()
        try:
            status, payload = w.run(data, self.limits, hints)
        except BaseException:
            self._retire(w)
            raise
        if status == "fatal" or w.jobs >= self.limits.jobs_per_worker:
            self._retire(w)
        else:
            self._idle.put(w)
        if status != "ok":
            raise PdfRejected(str(payload))
        return payload  # type: ignore[return-value]

    async def extract_async(self, data: bytes) -> ExtractedPdf:
        """Async extract: waits for the child in a thread so the event loop keeps running."""
        return await asyncio.to_thread(self.extract, data)

    async def read_async(self, data: bytes, hints: ParseHints) -> PdfRead:
        """Async read: waits for the child in a thread so the event loop keeps running."""
        return await asyncio.to_thread(self.read, data, hints)

    def close(self) -> None:
        """Stop all worker processes."""
        with self._lock:
            for w in list(self._all):
                w.kill()
            self._all.clear()
            self._idle = queue.Queue()
            self._started = False


_default: PdfExtractor | None = None
_default_lock = threading.Lock()


def default_extractor() -> PdfExtractor:
    """The process-wide extractor, created on first use (nothing starts at import time)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PdfExtractor(workers=2)
        return _default


def extract_text(data: bytes) -> ExtractedPdf:
    """Extract a PDF's text layer with the default sandboxed extractor."""
    return default_extractor().extract(data)


async def extract_text_async(data: bytes) -> ExtractedPdf:
    """Async version of extract_text, run off the event loop."""
    return await default_extractor().extract_async(data)
