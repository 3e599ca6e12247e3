"""The `worker: ...` lines a command prints on failure are not log lines, but an exception's text may quote a secret
(an endpoint URL with the access key in it, a path): they are redacted as log lines are (SPEC: secrets never appear
in logs or error pages), and left exactly as they were when they quote none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker import cli
from worker.config import SECRET_VARIABLES
from worker.logs import hide_secrets, redact_text
from worker.seaweed import free_port

REPO = Path(__file__).resolve().parent.parent
KEY_ID = "AKIDSECRETTEST0123456"
SECRET_KEY = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"


def run_worker(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """The real command, with these AWS credentials as its only secrets and its files in tmp_path."""
    environ = {var: value for var, value in os.environ.items() if var not in SECRET_VARIABLES.values()}
    environ |= {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "WORKER_DB_PATH": str(tmp_path / "db.sqlite3"), "WORKER_STATE_DIR": str(tmp_path / "state"), **env}
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], cwd=REPO, env=environ, capture_output=True,
                          text=True, timeout=120, check=False)


def one_line(done: subprocess.CompletedProcess) -> str:
    """The single `worker: ...` stderr line of a failed command, which quotes neither credential."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("worker: "), done.stderr
    assert KEY_ID not in done.stderr and SECRET_KEY not in done.stderr, done.stderr
    return lines[0]


def test_a_configuration_error_quoting_the_credentials_is_redacted(tmp_path: Path) -> None:
    # Said before the settings exist: the secrets are read (and registered) first for this.
    done = run_worker("db", "init", tmp_path=tmp_path, WORKER_S3_ENDPOINT=f"ftp://{KEY_ID}:{SECRET_KEY}@s3.example")
    assert done.returncode == 2
    assert one_line(done).endswith("invalid configuration: bucket.endpoint: 'ftp://[redacted]:[redacted]@s3.example' "
                                   "is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8333)")


def test_a_startup_failure_quoting_the_endpoint_with_its_credentials_is_redacted(tmp_path: Path) -> None:
    endpoint = f"http://{KEY_ID}:{SECRET_KEY}@127.0.0.1:{free_port()}"  # nothing listens there
    done = run_worker("serve", "--port", str(free_port()), "--smtp-port", "0", "--no-cron", tmp_path=tmp_path,
                      WORKER_S3_ENDPOINT=endpoint)
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("worker: cannot start: http://[redacted]:[redacted]@127.0.0.1:")
    assert line.endswith(": object storage unreachable: EndpointConnectionError (bucket gfs-worker)")


def test_a_failure_naming_a_path_that_holds_a_secret_is_redacted(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")  # not a directory: the database's cannot be made under it
    done = run_worker("db", "init", tmp_path=tmp_path, WORKER_DB_PATH=str(tmp_path / "file" / SECRET_KEY / "db.sqlite3"))
    assert done.returncode == 1
    assert one_line(done) == f"worker: {tmp_path / 'file' / '[redacted]'}: Not a directory"


def test_a_message_quoting_no_secret_is_unchanged(tmp_path: Path) -> None:
    done = run_worker("replay-dead-letters", "--id", "7", tmp_path=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "worker: no dead letter with id 7\n"


@pytest.mark.parametrize("text", [
    'C:\\data\\new "quoted" \'single\' é ✓ \udcff tab\t newline\n end',  # escapes JSON would add, a surrogate escape
    "no dead letter with id 9223372036854775808",
    "[redacted] already, {braces}, % 20 %20",
])
def test_redact_text_gives_back_text_with_no_secret_as_it_was(text: str) -> None:
    hide_secrets([SECRET_KEY, KEY_ID])
    assert redact_text(text) == text


def test_say_redacts_a_secret_whatever_text_surrounds_it(capsys: pytest.CaptureFixture[str]) -> None:
    hide_secrets([SECRET_KEY, 'tok"en\\with,quotes'])
    cli.say(f"C:\\dir\\{SECRET_KEY}\\x: refused 'tok\"en\\with,quotes' (é)", start="\n")
    assert capsys.readouterr().err == "\nworker: C:\\dir\\[redacted]\\x: refused '[redacted]' (é)\n"
