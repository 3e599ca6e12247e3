"""Number settings are finite numbers within their bounds: TOML reads nan and inf as floats, true and false as bools.

`markup_pct = nan` (or inf) loaded, and then every price check raised InvalidOperation; -250 made negative
prices; `tolerance_pct = inf` passed every price; `tolerance_pct = true` was a 1% tolerance. Now such a
configuration is refused at load, naming the key, and `worker serve` does not start.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from tests.test_config import REPO, TOML, write
from worker import config
from worker.config import ConfigError, load_settings
from worker.seaweed import free_port

MARKUP = "markup_pct = 0.0"
TOLERANCE = "tolerance_pct = 2.0"
FINITE = "Input should be a finite number"
PREMIUM = "\n[programs.premium]\nmarkup_pct = {value}\n"
NOT_A_BOOLEAN = "Input should be a number, not true or false"


def number_settings(value: object, key: str = "") -> list[str]:
    """The dotted key of every int or float in loaded settings (a bool is not a number setting)."""
    if isinstance(value, BaseModel):
        value = dict(value)
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in number_settings(item, f"{key}.{name}".lstrip("."))]
    return [key] if isinstance(value, int | float) and not isinstance(value, bool) else []


def set_in_toml(key: str, value: str) -> str:
    """The repository's toml with the line `<last part of key> = ...` given `value` (each such name is unique)."""
    name = key.rpartition(".")[2]
    text, count = re.subn(rf"(?m)^{re.escape(name)} = [^#\n]*?(?=\s*(#|$))", f"{name} = {value}", TOML)
    assert count == 1, f"{name} is not on exactly one line of wrangler-like.toml"
    return text


NUMBER_SETTINGS = number_settings(load_settings(REPO / "wrangler-like.toml", environ={}))


@pytest.mark.parametrize(("old", "new", "message"), [
    (MARKUP, "markup_pct = nan", f"programs.standard.markup_pct: {FINITE}"),
    (MARKUP, "markup_pct = inf", f"programs.standard.markup_pct: {FINITE}"),
    (MARKUP, "markup_pct = -inf", f"programs.standard.markup_pct: {FINITE}"),
    (MARKUP, "markup_pct = -250", "programs.standard.markup_pct: Input should be greater than or equal to -100"),
    (MARKUP, "markup_pct = 1001", "programs.standard.markup_pct: Input should be less than or equal to 1000"),
    (TOLERANCE, "tolerance_pct = nan", f"pricing.tolerance_pct: {FINITE}"),
    (TOLERANCE, "tolerance_pct = inf", f"pricing.tolerance_pct: {FINITE}"),
    (TOLERANCE, "tolerance_pct = 100.5", "pricing.tolerance_pct: Input should be less than or equal to 100"),
    (TOLERANCE, "tolerance_pct = -1", "pricing.tolerance_pct: Input should be greater than or equal to 0"),
    ("pdf_timeout_seconds = 10", "pdf_timeout_seconds = inf", f"limits.pdf_timeout_seconds: {FINITE}"),
    ("pdf_timeout_seconds = 10", "pdf_timeout_seconds = nan", f"limits.pdf_timeout_seconds: {FINITE}"),
    ("pdf_timeout_seconds = 10", "pdf_timeout_seconds = 3601",
     "limits.pdf_timeout_seconds: Input should be less than or equal to 3600"),
    ("body_min_bytes_per_second = 500", "body_min_bytes_per_second = inf",
     f"limits.body_min_bytes_per_second: {FINITE}"),
    ("body_min_bytes_per_second = 500", "body_min_bytes_per_second = nan",
     f"limits.body_min_bytes_per_second: {FINITE}"),
    ("body_idle_seconds = 60", "body_idle_seconds = nan", f"limits.body_idle_seconds: {FINITE}"),
])
def test_a_number_setting_that_is_not_finite_or_out_of_bounds_is_refused(tmp_path: Path, old: str, new: str,
                                                                          message: str) -> None:
    assert old in TOML
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, TOML.replace(old, new, 1)), environ={})
    assert f"invalid configuration: {message}" in str(err.value)


def test_every_program_is_checked_not_only_the_standard_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"programs.premium.markup_pct: {FINITE}"):
        load_settings(write(tmp_path, TOML + PREMIUM.format(value="nan")), environ={})


@pytest.mark.parametrize(("old", "new"), [(MARKUP, "markup_pct = -100"), (MARKUP, "markup_pct = 1000"),
                                          (MARKUP, "markup_pct = 12.5"), (TOLERANCE, "tolerance_pct = 0"),
                                          (TOLERANCE, "tolerance_pct = 100"), ("pdf_timeout_seconds = 10",
                                                                               "pdf_timeout_seconds = 3600")])
def test_the_bounds_themselves_are_allowed(tmp_path: Path, old: str, new: str) -> None:
    load_settings(write(tmp_path, TOML.replace(old, new, 1)), environ={})


def test_every_number_setting_is_in_the_toml_and_found_here() -> None:
    for key in ("db.busy_timeout_ms", "triggers.lease_seconds.hot", "limits.email_bytes", "health.weights.ar_aging",
                "programs.standard.markup_pct", "programs.standard.payment_terms_days", "pricing.tolerance_pct"):
        assert key in NUMBER_SETTINGS
    assert "programs.standard.usda_eligible" not in NUMBER_SETTINGS  # a real boolean setting


@pytest.mark.parametrize("key", NUMBER_SETTINGS)
@pytest.mark.parametrize("value", ["true", "false"])
def test_a_boolean_for_a_number_setting_is_refused(tmp_path: Path, key: str, value: str) -> None:
    # pydantic read true as 1 and false as 0: `tolerance_pct = true` was a silent 1% tolerance.
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, set_in_toml(key, value)), environ={})
    assert f"invalid configuration: {key}: {NOT_A_BOOLEAN}" in str(err.value)


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("pricing.tolerance_pct", "2", 2.0), ("programs.standard.markup_pct", "-5", -5.0),
    ("limits.pdf_timeout_seconds", "7", 7.0), ("health.weights.ar_aging", "3", 3.0)])
def test_an_integer_for_a_float_setting_is_still_a_number(tmp_path: Path, key: str, value: str,
                                                          expected: float) -> None:
    settings = load_settings(write(tmp_path, set_in_toml(key, value)), environ={})
    found: object = settings
    for part in key.split("."):
        found = found[part] if isinstance(found, dict) else getattr(found, part)
    assert found == expected and isinstance(found, float)


# Every number setting with a lower bound has an upper one (SQLite's busy_timeout is a C int: 2**31 ms was no wait at
# all; a body or mail limit far above memory is a denial of service), named with the key when exceeded.
CEILINGS = [("db.busy_timeout_ms", 600_000), ("limits.webhook_batch_events", 100_000),
            ("limits.email_bytes", 268_435_456), ("limits.api_body_bytes", 67_108_864),
            ("limits.webhook_body_bytes", 67_108_864), ("limits.body_min_bytes_per_second", 1_000_000),
            ("limits.pdf_max_pages", 10_000), ("limits.pdf_memory_mb", 16_384)]


@pytest.mark.parametrize(("key", "ceiling"), CEILINGS)
def test_a_limit_above_its_ceiling_is_refused_and_the_ceiling_itself_allowed(tmp_path: Path, key: str,
                                                                              ceiling: int) -> None:
    load_settings(write(tmp_path, set_in_toml(key, f"{ceiling:_}")), environ={})
    for above in (ceiling + 1, 2**31, 10**30):
        with pytest.raises(ConfigError) as err:
            load_settings(write(tmp_path, set_in_toml(key, str(above))), environ={})
        assert f"invalid configuration: {key}: Input should be less than or equal to {ceiling}" in str(err.value)


def test_every_number_field_with_a_floor_has_a_ceiling() -> None:
    for model in [item for item in vars(config).values() if isinstance(item, type) and issubclass(item, BaseModel)]:
        for name, field in model.model_fields.items():
            if any(isinstance(bound, Ge | Gt) for bound in field.metadata):
                assert any(isinstance(bound, Le | Lt) for bound in field.metadata), f"{model.__name__}.{name}"


def test_a_health_weight_has_a_ceiling(tmp_path: Path) -> None:
    # Weights are relative; six of 1e308 summed to inf, normalized to 0, and every customer scored 0 (red).
    load_settings(write(tmp_path, set_in_toml("health.weights.ar_aging", "1000")), environ={})
    with pytest.raises(ConfigError, match=r"health.weights: ar_aging = 1e\+308: a weight may be at most 1000"):
        load_settings(write(tmp_path, set_in_toml("health.weights.ar_aging", "1e308")), environ={})


def test_worker_serve_refuses_to_start(tmp_path: Path) -> None:
    config = write(tmp_path, TOML.replace(MARKUP, "markup_pct = nan", 1))
    environ = {**os.environ, "WORKER_DB_PATH": str(tmp_path / "serve.sqlite3")}
    done = subprocess.run([sys.executable, "-m", "worker.cli", "--config", str(config), "serve", "--no-cron",
                           "--port", str(free_port()), "--smtp-port", "0"],
                          env=environ, cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("worker: ") and f"invalid configuration: programs.standard.markup_pct: {FINITE}" in last
    assert not (tmp_path / "serve.sqlite3").exists()
