"""Configuration: the toml loads; every mistake fails at start with the key and the problem named."""

import re
from pathlib import Path

import pytest

from worker.config import ConfigError, Secrets, load_settings

REPO = Path(__file__).resolve().parent.parent
TOML = (REPO / "wrangler-like.toml").read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wrangler-like.toml"
    path.write_text(text)
    return path


def test_repo_config_loads_with_paths_resolved():
    settings = load_settings(REPO / "wrangler-like.toml", environ={})
    assert settings.name == "gfs-edge-worker"
    assert settings.db.path.is_absolute() and settings.db.path.parent == REPO / ".worker"
    assert set(settings.triggers.tiers.values()) == {"hot", "warm", "cold"}
    assert settings.timezone.key == "UTC"


def test_every_toml_block_has_a_comment():
    lines = TOML.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[") and not line.startswith("[env."):
            assert i > 0 and lines[i - 1].startswith("#"), f"block {line} has no one-line comment above it"


def test_environment_variables_override_the_file(tmp_path):
    environ = {"WORKER_DB_PATH": str(tmp_path / "x.db"), "WORKER_S3_ENDPOINT": "http://s3.example:9000",
               "WORKER_S3_BUCKET": "other-bucket", "AWS_REGION": "auto"}
    settings = load_settings(REPO / "wrangler-like.toml", environ=environ)
    assert settings.db.path == tmp_path / "x.db"
    assert settings.bucket.endpoint == "http://s3.example:9000"
    assert settings.bucket.bucket == "other-bucket" and settings.bucket.region == "auto"


@pytest.mark.parametrize(("var", "value", "problem"), [
    ("WORKER_S3_ENDPOINT", "127.0.0.1:9000", "is not an http:// or https:// URL with a host"),
    ("WORKER_S3_ENDPOINT", "not-a-url", "is not an http:// or https:// URL with a host"),
    ("WORKER_S3_ENDPOINT", "ftp://s3.example", "is not an http:// or https:// URL with a host"),
    ("WORKER_S3_ENDPOINT", "http://[::1", "is not a URL (Invalid IPv6 URL)"),
    ("WORKER_S3_ENDPOINT", "http://s3.example:99999", "is not a URL (Port out of range"),
    ("WORKER_S3_ENDPOINT", "http://s3_server:9000", "the host is not a valid host name"),
    ("WORKER_S3_ENDPOINT", "http://s3.example:9000\n", "has a space or a control character"),
    ("AWS_REGION", "us east 1", "is not a region name"),
    ("AWS_REGION", "123", "is not a region name"),
])
def test_an_endpoint_or_region_boto3_cannot_use_is_refused_at_load(var, value, problem):
    # They were a 40-line traceback from boto3 when a command first built its client, or an "unreachable" bucket.
    key = {"WORKER_S3_ENDPOINT": "bucket.endpoint", "AWS_REGION": "bucket.region"}[var]
    with pytest.raises(ConfigError, match=f"invalid configuration: {key}: {re.escape(repr(value))}:? {re.escape(problem)}"):
        load_settings(REPO / "wrangler-like.toml", environ={var: value})


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8333", "https://acct.r2.cloudflarestorage.com", "http://[::1]:8333",
                                      "http://localhost:8333/", "HTTP://S3.EXAMPLE"])
@pytest.mark.parametrize("region", ["us-east-1", "auto", "eu-central-2"])
def test_every_endpoint_and_region_accepted_builds_a_client(endpoint, region):
    from worker.storage import Bucket

    settings = load_settings(REPO / "wrangler-like.toml", environ={"WORKER_S3_ENDPOINT": endpoint, "AWS_REGION": region})
    Bucket(settings.bucket.endpoint, settings.bucket.bucket, region=settings.bucket.region)  # boto3 raises on its own


def test_env_section_overrides(tmp_path):
    settings = load_settings(REPO / "wrangler-like.toml", env_name="production", environ={})
    assert settings.vars.ENVIRONMENT == "production"
    assert str(settings.db.path) == "/var/lib/gfs-worker/gfs.sqlite3"
    assert settings.triggers.crons == load_settings(REPO / "wrangler-like.toml", environ={}).triggers.crons


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('TIMEZONE = "UTC"', 'TIMEZONE = "Mars/Olympus"', "vars.TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ('"*/15 * * * *" = "warm"', '"*/15 * * * *" = "tepid"', "triggers.tiers.*/15 * * * *: Input should be 'hot', 'warm' or 'cold'"),
        ('crons = ["* * * * *",', 'crons = ["61 * * * *", "* * * * *",', "invalid cron expression '61 * * * *'"),
        ('"0 3 * * *" = "cold"\n', "", "cron '0 3 * * *' has no tier in [triggers.tiers]"),
        # Quartz style (seconds first), meant as 03:00 daily: croniter would fire it every second on the 3rd.
        ('"0 3 * * *"]', '"0 0 3 * * *"]',
         "triggers: cron '0 0 3 * * *' has 6 fields: use 5 (minute hour day-of-month month day-of-week)"),
        ('"0 3 * * *"]', '"0 0 3 * * * 2026"]', "cron '0 0 3 * * * 2026' has 7 fields: use 5"),
        ('"0 3 * * *"]', '"0 3 * *"]', "cron '0 3 * *' has 4 fields: use 5"),
        ('"0 3 * * *"]', '"@daily"]',
         "triggers: cron '@daily' is a nickname: use 5 fields (minute hour day-of-month month day-of-week): '0 0 * * *'"),
        ("email_bytes = 25_000_000", 'email_bytes = "lots"', "limits.email_bytes: Input should be a valid integer"),
        ("pdf_max_pages = 50", "pdf_max_pages = 50\npdf_max_pagez = 3", "limits.pdf_max_pagez: unknown key (check the spelling)"),
        ('routes = ["orders@gfs.local",', 'routes = ["orders-at-gfs",', "route 'orders-at-gfs' is not an email address"),
        ("[programs.standard]", "[programs.premium]", "[programs.standard] is required"),
        ("ar_aging = 0.30", "ar_aging = -1.0", "health.weights: ar_aging = -1.0: a weight must be a finite number >= 0"),
        ("ar_aging = 0.30", "ar_aging = inf", "health.weights: ar_aging = inf: a weight must be a finite number >= 0"),
        ("ar_aging = 0.30", "ar_aging = nan", "health.weights: ar_aging = nan: a weight must be a finite number >= 0"),
        ("hot = 300", "hot = -5", "triggers.lease_seconds: hot = -5: a lease must last at least 1 second"),
        ("warm = 900", "warm = 0", "triggers.lease_seconds: warm = 0: a lease must last at least 1 second"),
        ("cold = 300", "cold = 100000000000",
         "triggers.lease_seconds: cold = 100000000000: a lease may last at most 86400 seconds (a day)"),
        ("cold = 300", "cold = inf", "triggers.lease_seconds.cold: Input should be a finite number"),
        # a century at most: more overflows the cold tier's look-backs (a date before year 1) every night
        ("webhook_receipts_days = 180", "webhook_receipts_days = 10000000",
         "retention.webhook_receipts_days: Input should be less than or equal to 36500"),
        ("snapshot_retention_days = 120", "snapshot_retention_days = 999999999",
         "aging.snapshot_retention_days: Input should be less than or equal to 36500"),
        ("needs_review_expiry_days = 30", "needs_review_expiry_days = 1000000",
         "reflexion.needs_review_expiry_days: Input should be less than or equal to 36500"),
    ],
)
def test_bad_config_names_the_key_and_problem(tmp_path, old, new, message):
    assert old in TOML
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, TOML.replace(old, new, 1)), environ={})
    assert message in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_all_zero_health_weights_are_refused(tmp_path):
    text = TOML
    for line in TOML.partition("[health.weights]")[2].strip().split("\n\n")[0].splitlines():
        text = text.replace(line, line.split("=")[0] + "= 0.0", 1)
    with pytest.raises(ConfigError, match="health.weights: no weight is above 0: at least one signal must count"):
        load_settings(write(tmp_path, text), environ={})


def test_unknown_env_name_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match=r"--env 'staging' has no \[env.staging\] section"):
        load_settings(REPO / "wrangler-like.toml", env_name="staging", environ={})
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "name = "), environ={})


def test_secrets_come_from_the_environment_and_never_print():
    secrets = Secrets.from_environ({"NS_WEBHOOK_SECRET": "whsec_abc", "INTAKE_TOKEN": ""})
    assert secrets.ns_webhook_secret.get_secret_value() == "whsec_abc"
    assert secrets.intake_token is None
    assert "whsec_abc" not in repr(secrets) and "whsec_abc" not in str(secrets.model_dump())


TOKEN_VARIABLES = ["INTAKE_TOKEN", "ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]


def test_secrets_mounted_from_files_are_trimmed_and_blank_ones_unset():
    # A Kubernetes secret from a file ends in a newline: INTAKE_TOKEN's made every bearer request a 401 forever,
    # the API keys' made every call "unreachable"; a blank INTAKE_TOKEN counted as set (401, not the 503 "not set").
    from types import SimpleNamespace

    from worker.auth import bearer_ok

    environ = {var: f"  tok-{var}\r\n" for var in TOKEN_VARIABLES}
    environ |= {"NS_WEBHOOK_SECRET": "whsec_a2V5 whsec_b2xk\n", "REVIEW_USERS": "ann:h1,\nbob:h2\n"}
    secrets = Secrets.from_environ(environ)
    for field, var in [("intake_token", "INTAKE_TOKEN"), ("anthropic_api_key", "ANTHROPIC_API_KEY"),
                       ("aws_access_key_id", "AWS_ACCESS_KEY_ID"), ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY")]:
        assert getattr(secrets, field).get_secret_value() == f"tok-{var}"
    assert secrets.ns_webhook_secret.get_secret_value() == "whsec_a2V5 whsec_b2xk"  # a rotation's two, kept
    assert secrets.review_users.get_secret_value() == "ann:h1,\nbob:h2"  # its parser strips each entry
    assert bearer_ok(SimpleNamespace(secrets=secrets), "Bearer tok-INTAKE_TOKEN")
    blank = Secrets.from_environ({var: " \n\t" for var in [*TOKEN_VARIABLES, "NS_WEBHOOK_SECRET", "REVIEW_USERS"]})
    assert blank == Secrets()


@pytest.mark.parametrize("var", TOKEN_VARIABLES)
@pytest.mark.parametrize("inside", [" ", "\n", "\t", "\x00", "\x1b", "\x7f", "ö", "\u00a0"])
def test_a_token_no_request_could_carry_is_refused_by_name_never_by_value(var, inside):
    with pytest.raises(ConfigError) as raised:
        Secrets.from_environ({var: f"S3CR{inside}QZ9\n"})
    assert str(raised.value).startswith(f"{var}: has a space, a control or a non-ASCII character inside")
    assert "S3CR" not in str(raised.value) and "QZ9" not in str(raised.value)


def test_a_session_secret_short_enough_to_guess_is_refused_by_name_never_by_value():
    # It keys the HMAC of every session cookie and CSRF token: from one cookie, a short one is found offline.
    with pytest.raises(ConfigError) as raised:
        Secrets.from_environ({"SESSION_SECRET": "hunter2-hunter2\n"})
    assert str(raised.value).startswith("SESSION_SECRET: shorter than 32 characters")
    assert "hunter2" not in str(raised.value)
    phrase = "correct horse battery staple, twice"  # spaces inside are part of a passphrase
    kept = Secrets.from_environ({"SESSION_SECRET": f" {phrase}\n"})
    assert kept.session_secret.get_secret_value() == phrase
    assert Secrets.from_environ({"SESSION_SECRET": "\n"}).session_secret is None  # blank: unset


def test_trusted_proxies_must_be_networks(tmp_path):
    assert "trusted_proxies = []" in TOML
    text = TOML.replace("trusted_proxies = []", 'trusted_proxies = ["10.0.0.0/8", "proxy.example"]')
    with pytest.raises(ConfigError, match="review.trusted_proxies: 'proxy.example' is not an IP address or network"):
        load_settings(write(tmp_path, text), environ={})
    text = TOML.replace("trusted_proxies = []", 'trusted_proxies = ["10.0.0.0/8", "::1"]')
    assert load_settings(write(tmp_path, text), environ={}).review.trusted_proxies == ["10.0.0.0/8", "::1"]


def test_an_env_section_with_its_own_crons_replaces_the_schedule(tmp_path):
    # Merged key by key, the file's [triggers.tiers] kept its crons and refused the new schedule.
    text = TOML + """
[env.quiet.triggers]
crons = ["*/5 * * * *", "30 2 * * *"]

[env.quiet.triggers.tiers]
"*/5 * * * *" = "hot"
"30 2 * * *" = "cold"
"""
    settings = load_settings(write(tmp_path, text), env_name="quiet", environ={})
    assert settings.triggers.crons == ["*/5 * * * *", "30 2 * * *"]
    assert settings.triggers.tiers == {"*/5 * * * *": "hot", "30 2 * * *": "cold"}
    assert settings.triggers.lease_seconds == load_settings(REPO / "wrangler-like.toml", environ={}).triggers.lease_seconds


def test_a_relative_path_in_worker_db_path_is_the_shell_s_not_the_toml_s(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(REPO / "wrangler-like.toml", environ={"WORKER_DB_PATH": "mine.sqlite3"})
    assert settings.db.path == tmp_path / "mine.sqlite3"


def test_worker_state_dir_gives_an_instance_its_own_state_directory(tmp_path, monkeypatch):
    # Two instances told apart by WORKER_DB_PATH alone shared the spool, incoming mail and embedded SeaweedFS.
    monkeypatch.chdir(tmp_path)
    relative = load_settings(REPO / "wrangler-like.toml", environ={"WORKER_STATE_DIR": "second"})
    assert relative.state_dir == tmp_path / "second"  # the shell's directory, as WORKER_DB_PATH
    absolute = load_settings(REPO / "wrangler-like.toml", environ={"WORKER_STATE_DIR": str(tmp_path / "third")})
    assert absolute.state_dir == tmp_path / "third"
    assert load_settings(REPO / "wrangler-like.toml", environ={}).state_dir == REPO / ".worker"
