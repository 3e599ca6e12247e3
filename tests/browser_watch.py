"""Every browser test fails on a console error or an uncaught page error: the `browser` fixture watches each context
a test opens, and its teardown asserts that nothing was logged (then closes what a failed test left open). The
fixtures are tests/conftest.py's, so a browser test anywhere under tests/ gets them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_support import launched_chromium

# A form the server refuses comes back as its page, answered 422 with the refusal beside the field (web.posted_form):
# Chromium logs that document's status as "Failed to load resource", but it is the page working as designed.
REFUSED_FORM = 422


class ConsoleErrors:
    """What the pages of a test logged as errors: console messages of type error (a CSP refusal, a 404 such as the
    favicon.ico asked for by default, a script's console.error), any console message about the Content Security
    Policy (whatever its level), and uncaught exceptions. Not the status of a refused form's page (REFUSED_FORM)."""

    def __init__(self) -> None:
        self.logged: list[tuple[str, str]] = []  # (what was logged, the URL it was about: "" if none)
        self.refused_forms: set[str] = set()  # URLs of pages answered REFUSED_FORM (told apart at check time)

    def watch(self, context: Any) -> None:
        """Record the errors of every page of `context`, those opened later included."""
        context.on("console", self._console)
        context.on("weberror", lambda e: self.logged.append((f"page error: {e.error}", "")))
        context.on("response", self._response)

    def _console(self, msg: Any) -> None:
        if msg.type == "error" or "Content Security Policy" in msg.text:
            self.logged.append((f"console {msg.type}: {msg.text}", msg.location.get("url", "")))

    def _response(self, response: Any) -> None:
        if response.status == REFUSED_FORM and response.request.is_navigation_request() \
                and response.frame.parent_frame is None:
            self.refused_forms.add(response.url)

    @property
    def errors(self) -> list[str]:
        """The errors recorded so far, each with the URL it was about."""
        return [text + (f" ({url})" if url else "") for text, url in self.logged
                if not (url in self.refused_forms and f"status of {REFUSED_FORM} " in text)]

    def take(self) -> list[str]:
        """The errors recorded so far, forgotten (for a test that provokes some on purpose)."""
        taken, self.logged = self.errors, []
        return taken

    def check(self) -> None:
        """Fail naming every error recorded."""
        assert not self.errors, "the page logged errors:\n" + "\n".join(self.errors)


class WatchedBrowser:
    """The launched Chromium, whose new_context() returns contexts watched by a ConsoleErrors."""

    def __init__(self, chromium: Any, console: ConsoleErrors) -> None:
        self._chromium = chromium
        self.console = console
        self.contexts: list[Any] = []

    def new_context(self, **options: Any) -> Any:
        """A new browser context (as Browser.new_context), its pages' errors recorded."""
        context = self._chromium.new_context(**options)
        self.console.watch(context)
        self.contexts.append(context)
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chromium, name)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium, launched once per module."""
    yield from launched_chromium()


@pytest.fixture
def console_errors() -> ConsoleErrors:
    """The errors this test's pages logged (see ConsoleErrors)."""
    return ConsoleErrors()


@pytest.fixture
def browser(chromium: Any, console_errors: ConsoleErrors) -> Iterator[WatchedBrowser]:
    """The browser for one test; at teardown, the test fails if any of its pages logged an error."""
    watched = WatchedBrowser(chromium, console_errors)
    yield watched
    for context in watched.contexts:  # closing an already closed context does nothing
        context.close()
    console_errors.check()
