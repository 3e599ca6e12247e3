"""Run every bench script and print one table of their figures, each beside the baseline its script measured.

Each `bench/*.py` (except this one) is a standalone script that prints its own rich table(s) with a baseline
measured in the same run. This runs them one after another as subprocesses (with a timeout; quick arguments
by default, the scripts' own defaults with --full), reads the rows of every table they print, and shows
them together with each script's exit status and wall time, so the README's Performance section can quote
one report with its date and machine.
Usage: python bench/report.py [--full] [--only webhook,cron] [--timeout 900] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
# Arguments that keep each script to a minute or two on 2 cores; --full runs the scripts' own defaults.
QUICK = {
    "backfill": ["--events", "10000"],
    "cron": ["--invoices", "100000", "--customers", "5000"],
    "email_intake": ["--emails", "10", "--big-mb", "5"],
    "load": ["--seconds", "20", "--idle-seconds", "2"],
    "po_holdout": ["--seeds", "1"],
    "review": ["--items", "2000", "--requests", "100"],
    "servers": ["--seconds", "2"],
    "webhook": ["--events", "5000"],
}
VERTICAL, HEAVY_VERTICAL = "│", "┃"
MAX_ROWS = 12  # a script with more rows (per-layout scores) is shown by its summary rows
SUMMARY = ("all ", "baseline", "bare", "raw ", "total", "overall", "worker serve", "post ", "smtp", "cron")
TABLE_CHARS = set("│┃┏┓┗┛┡┩└┘┌┐├┤┼━─╇┳┻╋")
NOT_SCRIPTS = ("report", "worker_process", "__init__")  # this runner and a helper module the scripts import
GRACE = 30.0  # seconds a timed-out script's processes get to stop after SIGTERM before SIGKILL


def notes(output: str) -> list[str]:
    """Plain lines after the last table (or the last lines when a script prints no table): its own summary."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    last_table = max((i for i, line in enumerate(lines) if set(line.strip()[:1]) & TABLE_CHARS), default=None)
    tail = lines[last_table + 1:] if last_table is not None else lines
    return tail[-5:]


def shown(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """All rows, or the summary rows (plus a count of the others) when there are many."""
    if len(rows) <= MAX_ROWS:
        return rows
    picked = [r for r in rows if any(word in next(iter(r.values()), "").lower() for word in SUMMARY)] or rows[:MAX_ROWS]
    return [*picked[:MAX_ROWS], {"": f"(+{len(rows) - len(picked[:MAX_ROWS])} more rows: run the script)"}]


def scripts(only: set[str] | None) -> list[Path]:
    """The bench scripts to run, in name order."""
    found = [p for p in sorted(BENCH.glob("*.py")) if p.stem not in NOT_SCRIPTS]
    return [p for p in found if only is None or p.stem in only]


def table_rows(output: str) -> list[dict[str, str]]:
    """Every data row of every rich table in `output`, as {header: cell}."""
    rows: list[dict[str, str]] = []
    header: list[str] = []
    for line in output.splitlines():
        stripped = line.strip()
        if stripped.startswith(HEAVY_VERTICAL):
            header = [cell.strip() for cell in stripped.strip(HEAVY_VERTICAL).split(HEAVY_VERTICAL)]
        elif stripped.startswith(VERTICAL) and header:
            cells = [cell.strip() for cell in stripped.strip(VERTICAL).split(VERTICAL)]
            if any(cells):
                rows.append(dict(zip(header, cells, strict=False)))
    return rows


def end_group(proc: subprocess.Popen[str], grace: float) -> None:
    """SIGTERM every process left in the script's group (its `worker serve` then stops its own weed), SIGKILL
    what is still there after `grace` seconds. Killing only the script would leave its children running."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()  # reap the script: a zombie still counts as a member of its group
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def run(script: Path, full: bool, timeout: float, grace: float = GRACE) -> dict[str, object]:
    """Run one script in its own session; its status, wall time, table rows and the tail of its output."""
    args = [] if full else QUICK.get(script.stem, [])
    # Its temp dirs go under a scratch dir of ours, so a script killed before its own cleanup leaves none behind.
    with tempfile.TemporaryDirectory(prefix=f"bench-report-{script.stem}-", ignore_cleanup_errors=True) as scratch:
        environ = {**os.environ, "COLUMNS": "220", "PYTHONPATH": str(BENCH.parent),  # rich: no wrapped cells
                   "TMPDIR": scratch}
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(script), *args], cwd=BENCH.parent, env=environ, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        timed_out = False
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Once, however it ended: a timed-out script's group, and whatever a script that crashed or was
            # interrupted left running.
            end_group(proc, grace)
        if timed_out:  # what it printed, now that nothing of its group holds the pipes open
            stdout, stderr = proc.communicate()
            status = f"timed out after {timeout:.0f} s"
        else:
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        output = stdout + stderr
    return {"script": script.name, "args": " ".join(args), "status": status,
            "seconds": round(time.monotonic() - started, 1), "rows": table_rows(output), "notes": notes(output),
            "tail": output.strip().splitlines()[-5:]}


def machine() -> str:
    """Where the figures were measured."""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, {datetime.now(UTC):%Y-%m-%d}")


def render(results: list[dict[str, object]]) -> None:
    """One table: per script, each of its rows (first cell as the label, the other cells as figures)."""
    table = Table(title=f"bench/report.py: {machine()}", show_lines=True)
    for column in ("script", "status", "s", "row", "figures (as the script labels them, baseline included)"):
        table.add_column(column, overflow="fold")
    for result in results:
        printed = [{"": "(printed)", "text": line} for line in result["notes"]]  # type: ignore[union-attr]
        # A new list (not += on the result's own rows, which --json writes); a script that printed nothing
        # (timed out, or failed silently) still gets its row with its status.
        rows = [*shown(result["rows"]), *printed] or [{"": "(no output)"}]  # type: ignore[arg-type]
        for n, row in enumerate(rows):
            label, *rest = list(row.items())
            figures = "; ".join(f"{k}: {v}" if k != "text" else v for k, v in rest if v)
            first = n == 0
            table.add_row(str(result["script"]) if first else "", str(result["status"]) if first else "",
                          str(result["seconds"]) if first else "", label[1], figures)
    Console(width=200).print(table)
    for result in results:
        if result["status"] != "ok":
            print(f"{result['script']} {result['status']}:", *result["tail"], sep="\n  ")  # type: ignore[misc]


def seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above 0 (0 or less timed every script out at once)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, not {text!r}")
    return value


def main() -> int:
    """Run the scripts, print the table; exit 1 if any script failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each script's default (long) sizes")
    parser.add_argument("--only", help="comma-separated script names without .py")
    parser.add_argument("--timeout", type=seconds, default=900, help="seconds per script (above 0)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    results = []
    for script in scripts(only):
        print(f"running {script.name} {' '.join([] if args.full else QUICK.get(script.stem, []))}", flush=True)
        results.append(run(script, args.full, args.timeout))
    render(results)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
