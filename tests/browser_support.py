"""Debian's Chromium through Playwright for the review UI tests: never a downloaded browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.helpers import TEST_REVIEWER, needs

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def launched_chromium() -> Iterator[Any]:
    """Headless Chromium for a module-scoped fixture (`yield from launched_chromium()`); skips, or fails in CI,
    when Playwright or the browser is missing."""
    try:
        from playwright import sync_api
    except ImportError:
        needs(False, "playwright is not installed (pip install -e '.[test]')")
    needs(Path(CHROMIUM).exists(), "Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


def sign_in_browser(page: Any, url: str) -> None:
    """Sign the page in as the test reviewer at `url` + /review/login; waits for the queue."""
    page.goto(url + "/review/login")
    page.fill("input[name=username]", TEST_REVIEWER[0])
    page.fill("input[name=password]", TEST_REVIEWER[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/review")
