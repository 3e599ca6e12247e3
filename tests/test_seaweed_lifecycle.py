"""The embedded SeaweedFS of `worker dev` never outlives the worker: a `weed` left behind holds the filer's
LevelDB lock, and the next `worker dev` on that state directory could not start (weed exits 255).

Each case runs the real command in a subprocess with its own state directory and free ports.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx
import pytest

from tests.test_cli_startup import last_line
from worker.cli import _start_embedded_s3
from worker.config import DEFAULT_CONFIG
from worker.seaweed import EmbeddedS3, SeaweedError, free_port

REPO = Path(__file__).resolve().parent.parent


def weeds(data_dir: Path) -> list[int]:
    """Live (not zombie) `weed` processes serving data_dir."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if args and args[0].endswith(b"weed") and f"-dir={data_dir}".encode() in args and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """`worker dev` with the embedded S3 in tmp_path/state/s3."""
    config = DEFAULT_CONFIG.read_text().replace('state_dir = ".worker"', 'state_dir = "state"', 1)
    assert 'state_dir = "state"' in config
    (tmp_path / "wrangler-like.toml").write_text(config)  # state_dir is relative to the file
    environ = {**os.environ, "WORKER_CONFIG": str(tmp_path / "wrangler-like.toml"),
               "WORKER_DB_PATH": str(tmp_path / "dev.sqlite3")}
    environ.pop("WORKER_S3_ENDPOINT", None)
    return environ


def dev(environ: dict[str, str], port: int) -> subprocess.Popen[str]:
    # stderr to a file: unread, a pipe fills with the log lines of loading the demo data and blocks the worker
    err = open(Path(environ["WORKER_DB_PATH"]).parent / f"dev-{port}.err", "w+")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "worker.cli", "dev", "--port", str(port), "--smtp-port", "0"],
                            env=environ, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, text=True)
    proc.err = err  # type: ignore[attr-defined]
    return proc


def serving(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
        return True
    except httpx.HTTPError:
        return False


def stopped(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    proc.err.seek(0)  # type: ignore[attr-defined]
    return proc.returncode, proc.err.read()  # type: ignore[attr-defined]


def test_a_killed_worker_leaves_no_weed_and_the_next_dev_starts(tmp_path: Path, environ: dict[str, str]) -> None:
    data_dir = tmp_path / "state" / "s3"
    port = free_port()
    proc = dev(environ, port)
    try:
        assert wait_for(lambda: serving(port) or proc.poll() is not None, 90) and proc.poll() is None
        assert weeds(data_dir)
        proc.kill()  # SIGKILL: no finally, no signal handler runs
        proc.wait()
        assert wait_for(lambda: not weeds(data_dir), 20)  # before: it ran on, holding the filer's lock
        port = free_port()
        proc = dev(environ, port)
        assert wait_for(lambda: serving(port) or proc.poll() is not None, 90), "the restart did not serve"
        assert proc.poll() is None, stopped(proc)[1]
        proc.send_signal(signal.SIGTERM)
        assert stopped(proc)[0] == 0
        assert not weeds(data_dir)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in weeds(data_dir):  # only this test's own weed, should an assertion have failed
            os.kill(pid, signal.SIGKILL)


def test_a_signal_while_seaweed_starts_stops_it_before_the_worker_exits(tmp_path: Path,
                                                                        environ: dict[str, str]) -> None:
    data_dir = tmp_path / "state" / "s3"
    proc = dev(environ, free_port())
    try:
        assert wait_for(lambda: weeds(data_dir) or proc.poll() is not None, 30) and proc.poll() is None
        proc.send_signal(signal.SIGINT)  # before the server's own signal handlers exist
        stopped(proc)
        assert not weeds(data_dir)  # stopped (and waited for) by the worker, not merely told to go at its death
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in weeds(data_dir):
            os.kill(pid, signal.SIGKILL)


def test_seaweed_that_cannot_start_is_one_line(tmp_path: Path, environ: dict[str, str]) -> None:
    # Another weed on the same state directory (an orphan of an older worker) holds the filer's lock.
    with EmbeddedS3(tmp_path / "state" / "s3", "gfs-worker"):
        rc, err = stopped(dev(environ, free_port()))
    assert rc == 1
    line = last_line(subprocess.CompletedProcess([], rc, "", err))
    assert line.startswith("worker: cannot start: weed exited with "), err
    assert line.endswith(f"see {tmp_path / 'state' / 's3' / 'weed.log'}")


def test_stop_ends_a_wait_for_seaweed_in_another_thread(tmp_path: Path) -> None:
    # A worker cancelled while SeaweedFS starts stops it; the thread waiting for it must not poll on for 60 s,
    # holding asyncio.run's exit (it joins the executor's threads).
    s3 = EmbeddedS3(tmp_path / "s3", "b")
    s3.launch()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            s3.wait_ready(60)
        except SeaweedError as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    s3.stop()
    waiter.join(10)
    assert not waiter.is_alive()
    assert not weeds(tmp_path / "s3")


class LosesAPortAtFirst(EmbeddedS3):
    """Its first launch exits as weed does when a port chosen for it was taken after weed checked it but before
    it bound it (that race cannot be staged; a port taken before weed checks it is, in the test below)."""

    launches = 0

    def launch(self) -> None:
        self.launches += 1
        if self.launches > 1:
            super().launch()
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "weed.log", "ab") as log:
            self._log_start = log.tell()
            line = (f"F1123 07:46:41.063280 s3.go:633 Lance Namespace listener on 127.0.0.1:{self.ports['s3.port.lance']}"
                    " error: listen tcp: bind: address already in use")
            self._process = subprocess.Popen(["sh", "-c", f"echo '{line}'; exit 255"], stdout=log)


@pytest.mark.parametrize("starter", ["EmbeddedS3.start", "worker dev"])
def test_a_port_taken_before_weed_binds_it_is_picked_again(tmp_path: Path, starter: str) -> None:
    # free_port's ports are free when picked; one was taken before weed bound it (a CI run: "Lance Namespace
    # listener on 127.0.0.1:34069 error: bind: address already in use", weed exited 255) and dev did not start.
    s3 = LosesAPortAtFirst(tmp_path / "s3", "gfs-worker")
    first = dict(s3.ports)
    try:
        if starter == "worker dev":
            asyncio.run(_start_embedded_s3(s3))
        else:
            s3.start(60)
        assert s3.launches == 2 and s3.ports != first
        boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id="worker", aws_secret_access_key="worker",
                     region_name="us-east-1").head_bucket(Bucket="gfs-worker")
    finally:
        s3.stop()
    assert not weeds(tmp_path / "s3")


@pytest.mark.parametrize("starter", ["EmbeddedS3.start", "worker dev"])
def test_a_port_taken_before_weed_checks_it_is_picked_again(tmp_path: Path, starter: str) -> None:
    # weed exits 1 with "Port allocation failed: port N for Filer (specified by flag filer.port) is not available";
    # that was not told from other exits, so dev gave up ("cannot start: weed exited with 1") instead of trying again.
    s3 = EmbeddedS3(tmp_path / "s3", "gfs-worker")
    first = dict(s3.ports)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", first["filer.port"]))
        holder.listen()
        try:
            if starter == "worker dev":
                asyncio.run(_start_embedded_s3(s3))
            else:
                s3.start(60)
            assert s3.ports["filer.port"] != first["filer.port"]
            assert b"Port allocation failed" in (tmp_path / "s3" / "weed.log").read_bytes()
            boto3.client("s3", endpoint_url=s3.endpoint, aws_access_key_id="worker", aws_secret_access_key="worker",
                         region_name="us-east-1").head_bucket(Bucket="gfs-worker")
        finally:
            s3.stop()
    assert not weeds(tmp_path / "s3")
