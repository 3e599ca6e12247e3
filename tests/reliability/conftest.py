"""Reliability fixtures: a `worker serve` subprocess factory and hypothesis profiles (small; large under slow)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import needs
from tests.reliability.support import WorkerProcess
from worker.seaweed import EmbeddedS3

# Small by default so the default run stays fast; the `slow` variants use FUZZ_LARGE.
FUZZ_SMALL = settings(max_examples=40, deadline=None, derandomize=False, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                             HealthCheck.data_too_large])
FUZZ_LARGE = settings(FUZZ_SMALL, max_examples=600)
settings.register_profile("reliability-small", FUZZ_SMALL)
settings.register_profile("reliability-large", FUZZ_LARGE)


@pytest.fixture
def worker_process(tmp_path: Path, s3: EmbeddedS3, bucket_name: str,
                   reviewer_hash: str) -> Iterator[Callable[..., WorkerProcess]]:
    """Make `worker serve` subprocesses on this test's bucket; every one is killed at teardown."""
    made: list[WorkerProcess] = []

    def make(**options: object) -> WorkerProcess:
        directory = tmp_path / f"worker{len(made)}"
        directory.mkdir()
        options.setdefault("s3_endpoint", s3.endpoint)
        options.setdefault("bucket", bucket_name)
        process = WorkerProcess(directory, reviewer_hash=reviewer_hash, **options)  # type: ignore[arg-type]
        made.append(process)
        return process

    yield make
    for process in made:
        process.kill()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs (needs root, which CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True,
                          check=False)
    needs(not done.returncode, f"cannot mount a tmpfs ({done.stderr.strip()}): the disk-full test needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
