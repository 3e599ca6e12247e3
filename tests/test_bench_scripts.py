"""The bench scripts' own plumbing (not their figures): bench/report.py stops a timed-out script's whole process
tree and reports every script; bench/load.py's rate window; bench/po_holdout.py's --compare and title;
bench/po_eval.py's arguments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import load, report

REPO = Path(__file__).resolve().parents[1]

# A stand-in bench script: a child (its `worker serve`) that ignores SIGTERM or not, a temp dir, then a hang.
HANGS = """
import subprocess, sys, tempfile, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", {child!r}])
Path({pid_file!r}).write_text(f"{{child.pid}} {{tempfile.mkdtemp(prefix='bench-fake-')}}")
print("started", flush=True)
time.sleep(600)
"""
SLEEPS = "import time; time.sleep(600)"
IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
# One that fails at once, leaving a child running that holds none of our pipes (so the run sees it exit).
CRASHES = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
open({pid_file!r}, "w").write(str(child.pid))
sys.exit(3)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def hung_script(tmp_path: Path, child: str) -> tuple[Path, Path]:
    pid_file = tmp_path / "child.pid"
    script = tmp_path / "fake_bench.py"
    script.write_text(HANGS.format(child=child, pid_file=str(pid_file)))
    return script, pid_file


@pytest.mark.parametrize("child", [SLEEPS, IGNORES_SIGTERM], ids=["stops-on-sigterm", "ignores-sigterm"])
def test_timed_out_script_leaves_no_process_or_temp_dir(tmp_path: Path, child: str) -> None:
    script, pid_file = hung_script(tmp_path, child)
    child_pid = 0
    try:
        result = report.run(script, full=False, timeout=3, grace=1)
        child_pid, temp_dir = int(pid_file.read_text().split()[0]), Path(pid_file.read_text().split()[1])
        assert result["status"] == "timed out after 3 s"
        deadline = time.monotonic() + 5  # the orphan is reaped by PID 1, not by us
        while alive(child_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(child_pid), "the script's child outlived the timeout"
        assert not temp_dir.exists(), "the script's temp dir was left behind"
    finally:
        if child_pid and alive(child_pid):
            os.kill(child_pid, signal.SIGKILL)


def counted_end_group(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each report.end_group call's script pid; the real one still runs."""
    calls, end_group = [], report.end_group

    def counted(proc: subprocess.Popen[str], grace: float) -> None:
        calls.append(proc.pid)
        end_group(proc, grace)
    monkeypatch.setattr(report, "end_group", counted)
    return calls


def test_a_timed_out_script_s_group_is_ended_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counted_end_group(monkeypatch)
    script, pid_file = hung_script(tmp_path, SLEEPS)
    result = report.run(script, full=False, timeout=2, grace=1)
    assert result["status"] == "timed out after 2 s" and result["tail"] == ["started"]
    assert len(calls) == 1 and not alive(int(pid_file.read_text().split()[0]))


def test_a_crashed_or_interrupted_script_s_group_is_ended_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counted_end_group(monkeypatch)
    crashes, pid_file = tmp_path / "crashes.py", tmp_path / "left.pid"
    crashes.write_text(CRASHES.format(pid_file=str(pid_file)))
    assert report.run(crashes, full=False, timeout=30, grace=1)["status"] == "exit 3"
    left_running = int(pid_file.read_text())
    deadline = time.monotonic() + 5  # the orphan is reaped by PID 1, not by us
    while alive(left_running) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(calls) == 1 and not alive(left_running)
    script, _ = hung_script(tmp_path, SLEEPS)

    def interrupted(self: subprocess.Popen[str], timeout: float | None = None) -> None:
        raise KeyboardInterrupt  # Ctrl-C while waiting for the script
    monkeypatch.setattr(subprocess.Popen, "communicate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.run(script, full=False, timeout=30, grace=1)
    assert len(calls) == 2 and not alive(calls[1])


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "soon"])
def test_report_refuses_a_timeout_that_is_not_above_0(value: str) -> None:
    done = bench_script("bench/report.py", f"--timeout={value}")
    assert done.returncode == 2 and "running" not in done.stdout, done.stdout[-2000:]
    assert f"argument --timeout: must be a number of seconds above 0, not '{value}'" in done.stderr, done.stderr


def test_script_that_prints_nothing_still_has_a_row(capsys: pytest.CaptureFixture[str]) -> None:
    report.render([{"script": "webhook.py", "args": "", "status": "timed out after 6 s", "seconds": 6.0,
                    "rows": [], "notes": [], "tail": []}])
    table_lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("│")]
    assert any("webhook.py" in line and "timed out after 6 s" in line for line in table_lines), table_lines


def test_render_leaves_the_results_rows_as_they_were() -> None:
    result = {"script": "cron.py", "args": "", "status": "ok", "seconds": 1.0, "rows": [{"tier": "warm", "s": "1"}],
              "notes": ["done"], "tail": []}
    report.render([result])
    assert result["rows"] == [{"tier": "warm", "s": "1"}]  # --json writes them after render


def test_helper_module_is_not_run_as_a_script() -> None:
    names = [path.stem for path in report.scripts(None)]
    assert "worker_process" not in names and "report" not in names
    assert {"webhook", "load", "po_eval", "po_holdout"} <= set(names)



def test_load_rate_window_leaves_out_the_wait_for_a_cron_run() -> None:
    stop = threading.Event()

    def cron_run_outlasting_the_traffic() -> None:
        stop.wait()
        time.sleep(1.5)

    window = load.drive([threading.Thread(target=cron_run_outlasting_the_traffic)], stop, 0.3)
    assert 0.3 <= window < 1.0  # req/s and the title use it: 1.8 s here would be the join, not the traffic


def bench_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], check=False, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"})


def test_po_holdout_compares_with_a_saved_file_missing_rows_and_counts_only_scored_layouts(tmp_path: Path) -> None:
    before = tmp_path / "before.json"
    before.write_text('{"po_number": [1.0, 0.5]}')  # saved before a row (here, all but one) existed
    done = bench_script("bench/po_holdout.py", "--layout", "canada", "--seeds", "1", "--compare", str(before))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 documents, 1 layouts" in done.stdout, done.stdout[:500]
    assert any("po_date" in line and "nan" in line for line in done.stdout.splitlines())


def test_po_eval_has_usage_not_a_traceback() -> None:
    shown_help = bench_script("bench/po_eval.py", "--help")
    assert shown_help.returncode == 0 and "PER_LAYOUT" in shown_help.stdout, shown_help.stderr[-2000:]
    wrong = bench_script("bench/po_eval.py", "twelve")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr and "usage:" in wrong.stderr, wrong.stderr
