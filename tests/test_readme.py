"""Docs are executable: every command, route, cron tier and cron job must appear in the README."""

import re
from pathlib import Path

import cron
from worker.app import create_app
from worker.cli import build_parser
from worker.config import Secrets, load_settings
from worker.env import build_env

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")  # noqa: SLF001 - argparse has no public API
    names = []
    for name, sub in action.choices.items():
        nested = [a for a in sub._actions if getattr(a, "choices", None) and a.dest.endswith("_command")]  # noqa: SLF001
        names += [f"{name} {n}" for n in nested[0].choices] if nested else [name]
    return names


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```\n(.*?)\n```", README, re.S)
    assert "worker dev" in blocks[0]
    assert blocks[1].strip() == "./scripts/test"
    assert "./scripts/test" in (REPO / ".ci" / "run").read_text()


def test_every_command_is_documented():
    for command in subcommands():
        assert f"`worker {command}" in README, f"worker {command} is missing from the README"


def test_every_route_is_documented():
    app = create_app(build_env(load_settings(REPO / "wrangler-like.toml", environ={}), Secrets()))
    for route in app.routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        if path.startswith("/schema/") or path.startswith("/static"):
            continue
        assert path in README, f"route {path} is missing from the README"


def test_every_cron_tier_and_job_is_documented():
    settings = load_settings(REPO / "wrangler-like.toml", environ={})
    for cron_string, tier in settings.triggers.tiers.items():
        assert f"| {tier} | `{cron_string}` |" in README, f"tier {tier} ({cron_string}) is missing from the README"
    for tier, jobs in cron.JOBS.items():
        for name, _ in jobs:
            assert f"`{name}`" in README, f"cron job {name} ({tier}) is missing from the README"


def test_every_environment_variable_is_documented():
    for var in ("WORKER_DB_PATH", "WORKER_S3_ENDPOINT", "WORKER_S3_BUCKET", "NS_WEBHOOK_SECRET", "INTAKE_TOKEN",
                "REVIEW_USERS", "ANTHROPIC_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
        assert f"`{var}`" in README
