"""Sandboxed PDF text extraction: warm child processes with byte, page, time and memory limits."""
from __future__ import annotations

import asyncio
import multiprocessing as mp
import queue
import threading
from dataclasses import dataclass

from worker.po.textlayer import ExtractedPdf, Fragment, PageText  # noqa: F401  (re-exported)

NO_TEXT_LAYER = "no text layer (scanned image)"


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
            data, max_pages = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = ("ok", extract_pdf(data, max_pages))
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

    def run(self, data: bytes, limits: ExtractLimits) -> tuple[str, object]:
        self.jobs += 1
        try:
            self.conn.send((data, limits.max_pages))
            if not self.conn.poll(limits.timeout_s):
                return "fatal", f"timed out after {limits.timeout_s:g}s"
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            self.proc.join(0.5)
            code = self.proc.exitcode
            # The kernel's OOM killer or an allocator abort under RLIMIT_AS shows up as a dead child.
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
        precheck(data, self.limits)
        self._start()
        w = self._idle.get()
        try:
            status, payload = w.run(data, self.limits)
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
