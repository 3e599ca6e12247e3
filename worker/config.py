"""Typed settings: `wrangler-like.toml`, then `[env.NAME]`, then environment variables."""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "wrangler-like.toml"
Tier = Literal["hot", "warm", "cold"]
MAX_LEASE_SECONDS = 86_400  # the longest tier lease: a crashed run blocks its tier at most this long


class ConfigError(Exception):
    """The configuration is unusable; the message names the key and the problem."""


def _not_a_boolean(value: Any) -> Any:
    """The value, unless it is TOML's true or false: pydantic reads those as 1 and 0 for a number."""
    if isinstance(value, bool):  # `tolerance_pct = true` was a silent 1% tolerance
        raise ValueError("Input should be a number, not true or false")  # noqa: TRY004 pydantic reports ValueError
    return value


# Every number setting is one of these. Not pydantic's strict numbers: they refuse what lax mode reads today (a
# string such as an environment variable's "5", or 30000.0 for an int); only booleans are refused.
Int = Annotated[int, BeforeValidator(_not_a_boolean)]
Float = Annotated[float, BeforeValidator(_not_a_boolean)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Vars(_Strict):
    TIMEZONE: str = "UTC"
    ENVIRONMENT: str = "development"

    @field_validator("TIMEZONE")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


# SQLite reads busy_timeout as a C int: from 2_147_483_648 ms on it was 0, no wait at all. A request or a tier
# still waiting for the writer after ten minutes is better told "database is locked".
MAX_BUSY_TIMEOUT_MS = 600_000


class DbBinding(_Strict):
    binding: str = "DB"
    path: Path = Path(".worker/gfs.sqlite3")
    busy_timeout_ms: Int = Field(30000, ge=100, le=MAX_BUSY_TIMEOUT_MS)


class BucketBinding(_Strict):
    binding: str = "BUCKET"
    endpoint: str = ""
    bucket: str = Field("gfs-worker", min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$")
    region: str = "us-east-1"

    # Refused here, so every command says so in one line: boto3 refused them only when the first command built
    # its client, with a traceback (an endpoint without http://, a region with spaces), or never (ftp://, a port
    # out of range), leaving the bucket "unreachable".
    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, endpoint: str) -> str:
        if not endpoint:
            return endpoint  # none: the embedded SeaweedFS in `worker dev`, unavailable elsewhere
        from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url  # 80 ms: only when set

        if not endpoint.isprintable() or " " in endpoint:  # urlsplit would drop a newline without a word
            raise ValueError(f"{endpoint!r} has a space or a control character")
        try:
            parts = urlsplit(endpoint)
            _ = parts.port  # raises for a port that is not a number from 0 to 65535
        except ValueError as exc:
            raise ValueError(f"{endpoint!r} is not a URL ({exc})") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{endpoint!r} is not an http:// or https:// URL with a host (e.g. http://127.0.0.1:8333)")
        if not (is_valid_endpoint_url(endpoint) or is_valid_ipv6_endpoint_url(endpoint)):
            raise ValueError(f"{endpoint!r}: the host is not a valid host name (letters, digits, - and dots) or address")
        return endpoint

    @field_validator("region")
    @classmethod
    def _region_name(cls, region: str) -> str:
        if not _REGION.fullmatch(region):  # botocore's validate_region_name, and not empty
            raise ValueError(f"{region!r} is not a region name (letters, digits and -, e.g. us-east-1, or auto for R2)")
        return region


_REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")


# Cloudflare's cron triggers take five fields; croniter also takes a seconds field (and a year) and nicknames
# (@daily), so a Quartz-style "0 0 3 * * *" meant as 03:00 daily would fire every second on the 3rd of the month.
CRON_FIELDS = "minute hour day-of-month month day-of-week"
_NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
              "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}


def _five_fields(cron: str) -> str | None:
    """Why the cron is not a five-field string as Cloudflare reads it, or None."""
    if cron.strip().startswith("@"):
        spelled = _NICKNAMES.get(cron.strip().lower())
        hint = f": {spelled!r}" if spelled else ""
        return f"cron {cron!r} is a nickname: use 5 fields ({CRON_FIELDS}){hint}"
    if (count := len(cron.split())) != 5:
        return f"cron {cron!r} has {count} fields: use 5 ({CRON_FIELDS})"
    return None


def _fires(cron: str) -> bool:
    """Whether the cron has a next tick; e.g. "0 4 30 2 *" (Feb 30) passes is_valid but never fires."""
    try:
        croniter(cron, datetime.now(UTC)).get_next(datetime)
    except CroniterBadDateError:
        return False
    return True


class Triggers(_Strict):
    crons: list[str]
    tiers: dict[str, Tier]
    # cold as short as hot: the heartbeat renews a live run's lease, and a killed run's holds off its re-run.
    lease_seconds: dict[Tier, Int] = {"hot": 300, "warm": 900, "cold": 300}

    @model_validator(mode="after")
    def _every_cron_has_a_valid_tier(self) -> Triggers:
        for cron in self.crons:
            if problem := _five_fields(cron):
                raise ValueError(problem)
            if not croniter.is_valid(cron):
                raise ValueError(f"invalid cron expression {cron!r}")
            if not _fires(cron):
                raise ValueError(f"cron {cron!r} never fires: no date matches it")
            if cron not in self.tiers:
                raise ValueError(f"cron {cron!r} has no tier in [triggers.tiers]")
        for cron in self.tiers:
            if cron not in self.crons:
                raise ValueError(f"[triggers.tiers] names {cron!r}, which is not in crons")
        return self

    @field_validator("lease_seconds")
    @classmethod
    def _leases_last(cls, leases: dict[str, int]) -> dict[str, int]:
        # A lease of 0 or less has expired when taken, so every tick could run the tier concurrently.
        for tier, seconds in leases.items():
            if seconds <= 0:
                raise ValueError(f"{tier} = {seconds!r}: a lease must last at least 1 second")
            if seconds > MAX_LEASE_SECONDS:  # and a crashed run's lease must expire some day (no datetime overflow)
                raise ValueError(f"{tier} = {seconds!r}: a lease may last at most {MAX_LEASE_SECONDS} seconds (a day)")
        return leases


class Email(_Strict):
    routes: list[str] = Field(min_length=1)

    @field_validator("routes")
    @classmethod
    def _lower(cls, routes: list[str]) -> list[str]:
        for route in routes:
            if "@" not in route:
                raise ValueError(f"route {route!r} is not an email address")
        return [r.lower() for r in routes]


class Review(_Strict):
    # Proxies (CIDRs) whose X-Forwarded-For is believed, e.g. a load balancer's subnet or Cloudflare's
    # ranges: without them every sign-in behind the proxy counts against the proxy's own address.
    trusted_proxies: list[str] = []
    # The NetSuite items a PO's charges are booked as, filled into the order form's charge rows (item code or
    # internal id, as typed there; checked against spec_items at approval like any typed item): freight, discounts
    # (negative charges) and other surcharges. Empty: the reviewer names one each time, or leaves the charge off.
    freight_item: str = Field("", max_length=64)
    discount_item: str = Field("", max_length=64)
    charge_item: str = Field("", max_length=64)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network (CIDR)") from None
        return proxies


# The framework's cap on a webhook body (handlers/ns_webhook.py): above it a body gets the framework's bare 413
# before the handler runs, so a larger limits.webhook_body_bytes would silently not apply; refused at load instead.
MAX_WEBHOOK_BODY_BYTES = 64 * 1024 * 1024
# The other limits' ceilings: a limit far above what the host can hold or do is no limit, but a way in for a denial
# of service. A batch is one transaction of the one writer: 100,000 events hold it about 5 s (20,000 events/s).
MAX_WEBHOOK_BATCH_EVENTS = 100_000
# Above Exchange Online's largest (150 MB). The SMTP door holds a message in memory, and its parse peaks at about
# 5x its size under the parser's 2 GiB cap (worker/intake/isolated.py PARSE_MEMORY_BYTES).
MAX_EMAIL_BYTES = 256 * 1024 * 1024
MAX_API_BODY_BYTES = 64 * 1024 * 1024  # held in memory whole; a proposal or a review form is kilobytes
MAX_BODY_MIN_BYTES_PER_SECOND = 1_000_000  # 8 Mbit/s: a higher floor cuts off ordinary clients on a slow uplink
MAX_PDF_PAGES = 10_000
# The PDF sandbox's address-space cap: past about 8 EiB setrlimit overflows and every PDF failed; 16 GiB is 32x the
# default, and above the host's memory the cap is no cap.
MAX_PDF_MEMORY_MB = 16_384


class Limits(_Strict):
    webhook_body_bytes: Int = Field(8_000_000, gt=0, le=MAX_WEBHOOK_BODY_BYTES)
    webhook_batch_events: Int = Field(1000, gt=0, le=MAX_WEBHOOK_BATCH_EVENTS)
    email_bytes: Int = Field(25_000_000, gt=0, le=MAX_EMAIL_BYTES)
    api_body_bytes: Int = Field(1_000_000, gt=0, le=MAX_API_BODY_BYTES)
    # TOML reads nan and inf as floats: no limit may be either (a minimum rate of inf cut every body off after
    # body_idle_seconds, and an infinite or NaN PDF time limit raised in the wait on its sandbox).
    body_idle_seconds: Float = Field(60, gt=0, le=3600, allow_inf_nan=False)  # longest gap between two chunks
    # a body's average rate after body_idle_seconds of grace
    body_min_bytes_per_second: Float = Field(500, gt=0, le=MAX_BODY_MIN_BYTES_PER_SECOND, allow_inf_nan=False)
    pdf_max_pages: Int = Field(50, gt=0, le=MAX_PDF_PAGES)
    pdf_timeout_seconds: Float = Field(10, gt=0, le=3600, allow_inf_nan=False)
    pdf_memory_mb: Int = Field(512, ge=64, le=MAX_PDF_MEMORY_MB)


# Weights are relative (0.3, 30 or 300 alike): six of 1e308 summed to inf and normalized to 0, so every customer
# scored 0, red.
MAX_WEIGHT = 1000


class Health(_Strict):
    weights: dict[
        Literal[
            "ar_aging",
            "dispute_count",
            "payment_lateness_trend",
            "order_frequency_drop",
            "credit_memo_count",
            "contact_churn",
        ],
        Float,
    ]

    @field_validator("weights")
    @classmethod
    def _positive(cls, weights: dict[str, float]) -> dict[str, float]:
        # inf or nan would turn every score into 0 or nan, and all zero leaves nothing to normalize by.
        for signal, weight in weights.items():
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(f"{signal} = {weight!r}: a weight must be a finite number >= 0")
            if weight > MAX_WEIGHT:
                raise ValueError(f"{signal} = {weight!r}: a weight may be at most {MAX_WEIGHT} (weights are relative)")
        if not any(weights.values()):
            raise ValueError("no weight is above 0: at least one signal must count")
        return weights


# Day counts beyond a century overflow the look-backs (a date before year 1): refused at load, not at 3 a.m.
MAX_DAYS = 36_500


class Aging(_Strict):
    basis: Literal["due_date", "invoice_date"] = "due_date"
    snapshot_retention_days: Int = Field(120, ge=1, le=MAX_DAYS)


class Reflexion(_Strict):
    needs_review_expiry_days: Int = Field(30, ge=1, le=MAX_DAYS)


class Workflows(_Strict):
    # A workflow acts on changes made within this many days before its drain (the record's last_modified);
    # older ones are history, marked handled without a run (worker/workflow_runner.py). Absent: 30. 0 is refused:
    # it would make every change history, a webhook's too; to act on all history, give a large number.
    history_days: Int = Field(30, ge=1, le=MAX_DAYS)


class Anthropic(_Strict):
    # Anthropic retires models on announced dates; a retired name makes every call fail, so both are config.
    vision_model: str = Field("claude-sonnet-4-6", min_length=1)
    draft_model: str = Field("claude-sonnet-4-6", min_length=1)


class Retention(_Strict):
    webhook_receipts_days: Int = Field(180, ge=1, le=MAX_DAYS)
    cron_runs_days: Int = Field(90, ge=1, le=MAX_DAYS)  # the hot tier alone records 1,440 runs a day
    workflow_run_log_days: Int = Field(365, ge=1, le=MAX_DAYS)
    # A customer's newest scores (the 360's trend) are kept past this (cron/housekeeping.py SCORES_KEPT).
    customer_health_scores_days: Int = Field(365, ge=1, le=MAX_DAYS)


class Program(_Strict):
    # As customer_program.csv allows (reference_rows.py): nan or inf made every price check raise, and a markup
    # below -100% a negative price.
    markup_pct: Float = Field(0.0, ge=-100, le=1000, allow_inf_nan=False)
    freight_terms: str = "prepaid"
    payment_terms_days: Int = Field(30, ge=0, le=365)  # as customer_program.csv allows
    usda_eligible: bool = False


class Pricing(_Strict):
    tolerance_pct: Float = Field(2.0, ge=0, le=100, allow_inf_nan=False)  # inf (or 1e9) passed every price


class Settings(_Strict):
    """Everything in `wrangler-like.toml`, validated; paths are absolute."""

    name: str
    state_dir: Path = Path(".worker")
    vars: Vars = Vars()
    db: DbBinding = DbBinding()
    bucket: BucketBinding = BucketBinding()
    triggers: Triggers
    email: Email
    limits: Limits = Limits()
    review: Review = Review()
    health: Health
    aging: Aging = Aging()
    reflexion: Reflexion = Reflexion()
    workflows: Workflows = Workflows()
    retention: Retention = Retention()
    anthropic: Anthropic = Anthropic()
    programs: dict[str, Program] = {"standard": Program()}
    pricing: Pricing = Pricing()

    @model_validator(mode="after")
    def _standard_program_exists(self) -> Settings:
        if "standard" not in self.programs:
            raise ValueError("[programs.standard] is required: customers without a program get it")
        return self

    @property
    def timezone(self) -> ZoneInfo:
        """The company's time zone, in which calendar dates are read."""
        return ZoneInfo(self.vars.TIMEZONE)


class Secrets(BaseModel):
    """Secrets come only from the environment; SecretStr keeps them out of reprs and logs."""

    model_config = ConfigDict(frozen=True)

    ns_webhook_secret: SecretStr | None = None
    intake_token: SecretStr | None = None
    review_users: SecretStr | None = None
    anthropic_api_key: SecretStr | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    session_secret: SecretStr | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Secrets:
        """Read each secret from its environment variable, trimmed: a secret mounted from a file (a Kubernetes
        secret) ends in a newline, which made every bearer token a 401 and every API key 'unreachable'. Empty
        or blank counts as unset. Raises ConfigError naming a variable (never its value) no secret could hold."""
        values = {}
        for field, var in SECRET_VARIABLES.items():
            value = (environ.get(var) or "").strip()
            if not value:
                continue
            if var in TOKEN_SECRETS and not _TOKEN.fullmatch(value):
                raise ConfigError(f"{var}: has a space, a control or a non-ASCII character inside: a token is one "
                                  "word of printable ASCII (is the file it came from damaged?)")
            if var in KEY_SECRETS and len(value) < MIN_KEY_LENGTH:
                raise ConfigError(f"{var}: shorter than {MIN_KEY_LENGTH} characters: it signs every session cookie, "
                                  "and a short one can be guessed offline from one cookie (make one with "
                                  "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
            values[field] = value
        return cls(**values)


SECRET_VARIABLES = {
    "ns_webhook_secret": "NS_WEBHOOK_SECRET",
    "intake_token": "INTAKE_TOKEN",
    "review_users": "REVIEW_USERS",
    "anthropic_api_key": "ANTHROPIC_API_KEY",
    "aws_access_key_id": "AWS_ACCESS_KEY_ID",
    "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_secret": "SESSION_SECRET",
}
# Secrets sent whole in an HTTP header or signed with, which no request could match if they held a space or a
# control character (or a non-ASCII one: headers are Latin-1 at best). NS_WEBHOOK_SECRET (space-separated during
# a rotation) and REVIEW_USERS (comma-separated) have their own formats, checked by their parsers.
TOKEN_SECRETS = frozenset({"INTAKE_TOKEN", "ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
_TOKEN = re.compile(r"[!-~]+")
# Keys we sign with (HMAC) that no one else needs to know: long enough that a cookie cannot be brute-forced.
KEY_SECRETS = frozenset({"SESSION_SECRET"})
MIN_KEY_LENGTH = 32


# Environment variable -> dotted settings key (SPEC 3.2).
ENV_OVERRIDES = {
    "WORKER_DB_PATH": "db.path",
    "WORKER_STATE_DIR": "state_dir",  # spool, incoming mail, embedded SeaweedFS: one per instance, as the database
    "WORKER_S3_ENDPOINT": "bucket.endpoint",
    "WORKER_S3_BUCKET": "bucket.bucket",
    "AWS_REGION": "bucket.region",
}
PATH_VARIABLES = frozenset({"WORKER_DB_PATH", "WORKER_STATE_DIR"})


def load_settings(
    path: Path | None = None, env_name: str | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Load, overlay and validate the configuration, or raise ConfigError naming the key."""
    path = Path(path or os.environ.get("WORKER_CONFIG") or DEFAULT_CONFIG).resolve()
    environ = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    envs = raw.pop("env", {})
    if env_name:
        if env_name not in envs:
            raise ConfigError(f"{path}: --env {env_name!r} has no [env.{env_name}] section")
        override = envs[env_name]
        if isinstance(override.get("triggers"), dict) and "crons" in override["triggers"] and \
                isinstance(raw.get("triggers"), dict):
            # A new schedule names its own tiers: merged, the file's tier map would keep crons it no longer has.
            raw = {**raw, "triggers": {key: value for key, value in raw["triggers"].items() if key != "tiers"}}
        raw = _deep_merge(raw, override)
    for var, dotted in ENV_OVERRIDES.items():
        if environ.get(var):
            value = environ[var]
            if var in PATH_VARIABLES:  # a path typed in a shell means the shell's directory, not the toml's
                value = str(Path(value).absolute())
            raw = _deep_merge(raw, _nest(dotted, value))
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(path, exc)) from None
    return _resolve_paths(settings, path.parent)


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    state_dir = (base / settings.state_dir).resolve()
    db = settings.db.model_copy(update={"path": (base / settings.db.path).resolve()})
    return settings.model_copy(update={"state_dir": state_dir, "db": db})


def _describe(path: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        problems.append(f"{key}: {message}")
    return f"{path}: invalid configuration: " + "; ".join(problems)


def _nest(dotted: str, value: Any) -> dict[str, Any]:
    head, _, rest = dotted.partition(".")
    return {head: _nest(rest, value) if rest else value}


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
