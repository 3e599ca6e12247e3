"""Docs are executable: every reliability test (and bench/load.py, bench/report.py) is in the README's
Reliability section, with what it proves and its last result."""

from __future__ import annotations

import re
from pathlib import Path

from tests.reliability.support import REPO

HERE = Path(__file__).resolve().parent


def reliability_section() -> str:
    """The README from '## Reliability' to the next second-level heading."""
    text = (REPO / "README.md").read_text()
    start = text.index("\n## Reliability")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def test_every_reliability_test_is_in_the_readme() -> None:
    section = reliability_section()
    for path in sorted(HERE.glob("test_*.py")):
        for name in re.findall(r"^(?:async )?def (test_\w+)", path.read_text(), re.M):
            base = name.removesuffix("_long")  # the slow variant shares its row
            assert f"`{base}`" in section, f"{path.name}::{name} is missing from the README's Reliability section"
    for script in ("bench/load.py", "bench/report.py"):
        assert script in section, f"{script} is missing from the README's Reliability section"
