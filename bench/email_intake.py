"""Order email end to end: HTTP door of `worker serve` -> review item, beside pypdf's bare extraction time.

Starts `worker serve --embedded-s3 --smtp-port 0 --no-cron` (subprocess, free port, temp DB and state dir,
reference data seeded so every line is matched and priced), posts one-page PO emails one at a time and
polls the SQLite file (read-only) until the review item exists. Baseline, same PDFs, same run: pypdf's
PdfReader + extract_text in this process, no sandbox, no parsing, no storage. Then peak memory: one
message of --big-mb MB (a PO plus a big attachment) and the server's peak RSS (VmHWM, reset before).
Usage: python bench/email_intake.py [--emails 30] [--big-mb 25]
"""

from __future__ import annotations

import sys
from pathlib import Path


import argparse
import io
import os
import random
import sqlite3
import statistics
import subprocess
import tempfile
import time

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.po.hostile import raw_pdf
from bench.worker_process import start_worker_serve
from tests.po.layouts import build
from tests.test_email_fixtures import order_email, seed_reference
from worker.db import connect
from worker.migrations import apply_schema

TOKEN = "bench-intake-token"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "message/rfc822"}
MB = 1_000_000


def start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`worker serve` with a seeded database (every line of the bench's PO matches and is priced)."""
    db = tmp / "serve.sqlite3"
    conn = connect(db)
    apply_schema(conn)
    conn.execute("BEGIN")
    seed_reference(conn)
    conn.execute("COMMIT")
    conn.close()
    proc, url = start_worker_serve(tmp, {"INTAKE_TOKEN": TOKEN}, db=db)
    return proc, url, db


def send_and_wait(client: httpx.Client, reader: sqlite3.Connection, raw: bytes) -> tuple[float, float, str]:
    """POST one message; returns (reply seconds, seconds until its review item exists, item status)."""
    t0 = time.perf_counter()
    reply = client.post("/api/inbound-email", content=raw, headers=HEADERS)
    replied = time.perf_counter() - t0
    if reply.status_code != 202:
        raise SystemExit(f"unexpected {reply.status_code}: {reply.text[:300]}")
    email_id = reply.json()["email_id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = reader.execute("SELECT status FROM review_items WHERE email_id = ?", (email_id,)).fetchone()
        if row:
            return replied, time.perf_counter() - t0, row[0]
        time.sleep(0.001)
    raise SystemExit(f"email {email_id} produced no review item in 120 s")


def pypdf_seconds(pdf: bytes) -> float:
    """Bare pypdf: open and extract_text of every page, in this process."""
    import pypdf

    t0 = time.perf_counter()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    "".join(page.extract_text() for page in reader.pages)
    return time.perf_counter() - t0


def _proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def big_pdf(size: int) -> bytes:
    """A valid one-page PDF padded with an unreferenced random stream to about `size` bytes."""
    pad = random.Random(7).randbytes(size)
    return raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
                    b"<< /Length %d >>\nstream\n" % len(pad) + pad + b"\nendstream"])


def peak(client: httpx.Client, reader: sqlite3.Connection, pid: int, raw: bytes) -> tuple[int, int, float, str]:
    """Reset the server's peak RSS, send one message; returns (rss before kB, peak kB, seconds, status)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = _proc_kb(pid, "VmRSS")
    _, seconds, status = send_and_wait(client, reader, raw)
    return before, _proc_kb(pid, "VmHWM"), seconds, status


CHILD_PEAK = """
import sys
from pathlib import Path
from worker.intake.mime import read_mail
status = Path("/proc/self/status")
field = lambda name: next(int(l.split()[1]) for l in status.read_text().splitlines() if l.startswith(name + ":"))
Path("/proc/self/clear_refs").write_text("5")  # ru_maxrss would carry the parent's peak across exec
before = field("VmRSS")
read_mail(Path(sys.argv[1]))
print(before, field("VmHWM"))
"""


def parse_child_peak(raw: bytes, tmp: Path) -> tuple[int, int]:
    """Peak RSS (kB) of a process like the parse child before and after parsing `raw` (done where the server
    would: big messages are parsed in a short-lived child, whose memory the server's VmHWM does not show)."""
    path = tmp / "big.eml"
    path.write_bytes(raw)
    out = subprocess.run([sys.executable, "-c", CHILD_PEAK, str(path)], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]), int(out[1])


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=30)
    parser.add_argument("--big-mb", type=float, default=25)
    args = parser.parse_args()
    pdfs = [build("classic_grid", seed=1000 + i)[0] for i in range(args.emails + 3)]
    base = [min(pypdf_seconds(pdf) for _ in range(3)) for pdf in pdfs[3:]]
    limit = int(args.big_mb * MB)
    # base64 grows the filler by 4/3 plus CRLF every 76 characters; leave room for headers and the PO.
    filler = int((limit - 200_000) * 3 / 4 * 76 / 78)
    big_plain = order_email([("po.pdf", pdfs[0]), ("archive.zip", random.Random(1).randbytes(filler))])
    big_pdf_mail = order_email([("scan-archive.pdf", big_pdf(filler))])
    with tempfile.TemporaryDirectory(prefix="bench-email-") as tmp_name:
        proc, url, db = start_server(Path(tmp_name))
        reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                for pdf in pdfs[:3]:  # warm-up: extraction workers start, connections open
                    send_and_wait(client, reader, order_email([("po.pdf", pdf)]))
                runs = [send_and_wait(client, reader, order_email([("po.pdf", pdf)])) for pdf in pdfs[3:]]
                mem = [(name, len(raw), *peak(client, reader, proc.pid, raw))
                       for name, raw in (("PO + big non-PDF attachment", big_plain), ("one big PDF", big_pdf_mail))]
        finally:
            reader.close()
            proc.terminate()
            proc.wait(30)
        child = parse_child_peak(big_plain, Path(tmp_name))
    replies, totals = [r[0] for r in runs], [r[1] for r in runs]
    statuses = {s for _, _, s in runs}
    bare = statistics.median(base)
    table = Table(title=f"Order email end to end: {len(runs)} one-page POs, one at a time, {os.cpu_count()} cores")
    for column in ("path", "median ms", "p90 ms", "vs pypdf"):
        table.add_column(column, justify="right" if column != "path" else "left")
    p90 = statistics.quantiles(totals, n=10)[8]
    table.add_row("HTTP door -> review item (worker serve)", f"{statistics.median(totals) * 1000:.1f}",
                  f"{p90 * 1000:.1f}", f"{statistics.median(totals) / bare:.1f}x")
    table.add_row("  of which: 202 reply (raw mail durable)", f"{statistics.median(replies) * 1000:.1f}",
                  f"{statistics.quantiles(replies, n=10)[8] * 1000:.1f}", "")
    table.add_row("bare pypdf extract_text (same PDFs)", f"{bare * 1000:.1f}", "", "1.0x")
    Console(width=140).print(table)
    print(f"review item statuses: {sorted(statuses)}")
    mtable = Table(title="Peak memory of the server process (VmHWM, reset before each message)")
    for column in ("message", "size MB", "RSS before MB", "peak RSS MB", "peak - before", "peak / size", "seconds"):
        mtable.add_column(column, justify="right" if column != "message" else "left")
    for name, size, before, top, seconds, status in mem:
        mtable.add_row(f"{name} ({status})", f"{size / MB:.1f}", f"{before / 1000:.0f}", f"{top / 1000:.0f}",
                       f"{(top - before) / 1000:.0f}", f"{top * 1000 / size:.2f}x", f"{seconds:.2f}")
    mtable.add_row("parse child, same message (outside the server)", f"{len(big_plain) / MB:.1f}", f"{child[0] / 1000:.0f}",
                   f"{child[1] / 1000:.0f}", f"{(child[1] - child[0]) / 1000:.0f}", f"{child[1] * 1000 / len(big_plain):.2f}x", "")
    Console(width=140).print(mtable)


if __name__ == "__main__":
    main()
