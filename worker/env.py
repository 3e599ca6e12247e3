"""The `env` every handler and job receives: settings, secrets and the DB / BUCKET bindings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker.config import Secrets, Settings
from worker.db import Database
from worker.storage import Bucket


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text with a Z, the format of every timestamp column."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime | None:
    """A timestamp's ISO-8601 text as an aware datetime (a zone-less one is UTC); None when it is not one."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Env:
    """Bindings as in a Cloudflare Worker: passed in, never imported as globals."""

    settings: Settings
    secrets: Secrets
    db: Database
    bucket: Bucket
    dev: bool = False  # enables /__scheduled and demo conveniences
    scheduler: bool = False  # run the cron tiers in-process
    smtp_port: int | None = None  # listen for SMTP on 127.0.0.1:PORT
    clock: Callable[[], datetime] = field(default=utcnow)
    extras: dict[str, object] = field(default_factory=dict)  # lifespan-owned helpers (SMTP server, ...)


def build_env(settings: Settings, secrets: Secrets, *, bucket_endpoint: str | None = None, **options: object) -> Env:
    """Create the bindings (not yet opened: the app's lifespan opens the database)."""
    db = Database(settings.db.path, busy_timeout_ms=settings.db.busy_timeout_ms)
    bucket = Bucket(
        bucket_endpoint or settings.bucket.endpoint,
        settings.bucket.bucket,
        region=settings.bucket.region,
        access_key=secrets.aws_access_key_id.get_secret_value() if secrets.aws_access_key_id else None,
        secret_key=secrets.aws_secret_access_key.get_secret_value() if secrets.aws_secret_access_key else None,
    )
    return Env(settings=settings, secrets=secrets, db=db, bucket=bucket, **options)  # type: ignore[arg-type]
