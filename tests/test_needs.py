"""tests/helpers.needs: a test whose machine lacks something skips locally, and fails under CI (what CI installs)."""

import pytest

from tests.helpers import needs


@pytest.mark.parametrize("ci", ["true", "1", "yes"])
def test_a_missing_requirement_fails_under_ci(monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="corpora not found: CI must run this test"):
        needs(False, "corpora not found")


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_a_missing_requirement_skips_elsewhere(monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="corpora not found"):
        needs(False, "corpora not found")
    needs(True, "present: nothing happens")


def test_the_corpora_outside_the_repository_only_skip_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.skip.Exception, match="corpora not found"):
        needs(False, "corpora not found", installed_by_ci=False)
