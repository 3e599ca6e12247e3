"""`worker dev` says which routes a missing secret turns off: a first-hour operator met 503s it never mentioned.

Without INTAKE_TOKEN, POST /api/inbound-email and /api/proposed-actions answer 503; without NS_WEBHOOK_SECRET,
/api/ns-webhook does (audit CK). The banner under the URLs now names them and the variable to set.
"""

from __future__ import annotations

from worker.cli import unset_routes
from worker.config import Secrets


def test_each_missing_secret_names_the_routes_it_turns_off() -> None:
    assert unset_routes(Secrets.from_environ({})) == [
        "  off:      /api/inbound-email, /api/proposed-actions (503 until INTAKE_TOKEN is set)",
        "  off:      /api/ns-webhook (503 until NS_WEBHOOK_SECRET is set)"]
    only_token = Secrets.from_environ({"INTAKE_TOKEN": "t0ken-for-tests"})
    assert unset_routes(only_token) == ["  off:      /api/ns-webhook (503 until NS_WEBHOOK_SECRET is set)"]


def test_nothing_is_said_when_both_are_set() -> None:
    secrets = Secrets.from_environ({"INTAKE_TOKEN": "t0ken-for-tests", "NS_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
    assert unset_routes(secrets) == []
    assert "t0ken" not in "".join(unset_routes(Secrets.from_environ({"INTAKE_TOKEN": "t0ken-for-tests"})))
