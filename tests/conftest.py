"""Shared fixtures: a real SeaweedFS for the session, a fresh SQLite file and bucket per test, the live app."""

from __future__ import annotations

import logging
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

# The browser fixtures (a watched Chromium: any console error fails the test), for browser tests anywhere in tests/.
from tests.browser_watch import browser, chromium, console_errors  # noqa: F401
from tests.cdc_support import fresh_db
from tests.helpers import (
    TEST_INTAKE_TOKEN,
    TEST_REVIEWER,
    TEST_WEBHOOK_SECRET,
    LiveServer,
    live_server,
    needs,
)
from worker.config import Secrets, Settings, Workflows, load_settings
from worker.env import Env, build_env
from worker.logs import OWN_LOGGERS, hide_secrets
from worker.passwords import hash_password
from worker.seaweed import EmbeddedS3

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put back the root's handlers and every logger's level, and forget the secrets to redact, after each test.

    worker.cli.main calls configure_logging, which replaces the root's handlers with one on sys.stderr: under
    capsys that is a buffer closed after the test, so every later log record printed "--- Logging error ---".
    """
    root = logging.getLogger()
    handlers = root.handlers[:]
    # The worker's own loggers by name: until configure_logging sets "worker", it may be only a placeholder.
    own = [logging.getLogger(name) for name in OWN_LOGGERS]
    levels = {logger: logger.level for logger in [root, *own, *logging.Logger.manager.loggerDict.values()]
              if isinstance(logger, logging.Logger)}
    yield
    hide_secrets(())  # worker.cli.main registers its secrets: another test's must not redact this one's lines
    root.handlers[:] = handlers
    for logger, level in levels.items():
        if logger.level != level:
            logger.setLevel(level)


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedS3]:
    """One real SeaweedFS for the whole run (S3 over HTTP, through boto3)."""
    # A fresh bucket per test: room for far more buckets than the ~1,100 tests (volumes are sparse files).
    server = EmbeddedS3(tmp_path_factory.mktemp("seaweed"), "worker-test", max_volumes=5000).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def reviewer_hash() -> str:
    """The password hash of the test reviewer (scrypt is slow: once per session)."""
    return hash_password(TEST_REVIEWER[1])


@pytest.fixture
def bucket_name() -> str:
    """A fresh bucket name per test, so tests never see each other's objects."""
    return f"t-{uuid.uuid4().hex[:20]}"


@pytest.fixture
def settings(tmp_path: Path, s3: EmbeddedS3, bucket_name: str) -> Settings:
    """The repo's wrangler-like.toml with this test's SQLite file, state dir and bucket."""
    environ = {"WORKER_DB_PATH": str(tmp_path / "gfs.sqlite3"), "WORKER_S3_ENDPOINT": s3.endpoint,
               "WORKER_S3_BUCKET": bucket_name}
    loaded = load_settings(REPO / "wrangler-like.toml", environ=environ)
    # The fixtures' CDC events carry fixed dates (flows_support.event: 2026-11-02) and the clock is the real one:
    # under the 30-day history gate they would turn into history a month on. Tests of the gate set their own.
    return loaded.model_copy(update={"state_dir": tmp_path / "state", "workflows": Workflows(history_days=36_500)})


@pytest.fixture
def secrets(reviewer_hash: str) -> Secrets:
    """Test secrets (never real ones)."""
    return Secrets.from_environ({
        "NS_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "INTAKE_TOKEN": TEST_INTAKE_TOKEN,
        "REVIEW_USERS": f"{TEST_REVIEWER[0]}:{reviewer_hash}",
    })


@pytest.fixture
def make_env(settings: Settings, secrets: Secrets) -> Callable[..., Env]:
    """Build an (unopened) env for this test; keyword options as in build_env."""

    def make(**options: object) -> Env:
        env = build_env(settings, secrets, **options)
        return env

    return make


@pytest.fixture
async def env(make_env: Callable[..., Env]) -> AsyncIterator[Env]:
    """An opened env (database migrated, bucket created) for direct, in-process tests."""
    env = make_env()
    await env.bucket.ensure_bucket()
    await env.db.open()
    yield env
    await env.db.close()


@pytest.fixture
async def acme(env: Env) -> Env:
    """env with one customer, 100 Acme Grocers (credit limit 50,000), for the AR tests' invoices."""
    from tests import ar_fixtures as fx

    await fx.write(env, fx.customer, "100", "Acme Grocers", credit_limit=50_000)
    return env


@pytest.fixture
async def seeded(env: Env) -> AsyncIterator[Env]:
    """env with the intake tests' reference data (customers, items, prices); mail still being read is awaited
    at the end. (tests/test_email_http.py has its own `seeded`: a live server.)"""
    from tests.test_email_fixtures import seed_reference
    from worker.intake import pipeline

    await env.db.write(seed_reference)
    yield env
    await pipeline.shutdown(env)


@pytest.fixture
def server(make_env: Callable[..., Env]) -> Iterator[LiveServer]:
    """The app on a real port, over real HTTP (dev mode off)."""
    env = make_env()
    with live_server(env) as live:
        live.run(env.bucket.ensure_bucket())
        yield live


@pytest.fixture
def corpora() -> Path:
    """The shared real-world corpora, or skip when this checkout has none beside it."""
    needs(CORPORA.is_dir(), f"shared corpora not found at {CORPORA}", installed_by_ci=False)
    return CORPORA


def pytest_configure(config: pytest.Config) -> None:
    """Keep test runs from picking up a developer's real secrets or database."""
    for var in ("NS_WEBHOOK_SECRET", "INTAKE_TOKEN", "REVIEW_USERS", "ANTHROPIC_API_KEY", "WORKER_DB_PATH",
                "WORKER_S3_ENDPOINT", "WORKER_S3_BUCKET", "WORKER_CONFIG"):
        os.environ.pop(var, None)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A migrated SQLite file (tmp_path / "conn.sqlite3") with the worker's pragmas, for synchronous tests."""
    db = fresh_db(tmp_path / "conn.sqlite3")
    yield db
    db.close()
