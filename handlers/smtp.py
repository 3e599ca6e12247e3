"""The SMTP door (aiosmtpd on the app's event loop): the same pipeline as POST /api/inbound-email.

Answers like a good mail server: 550 for a recipient we do not route, 552 over the size limit (SIZE is
advertised), 554 for an empty message, 451 for our own failures so the sender retries, and 250 only once
the raw message is durable.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from worker.db import DatabaseUnavailable
from worker.env import Env
from worker.intake.pipeline import schedule
from worker.intake.store import SpoolUnavailable, accept_raw

log = logging.getLogger("worker.smtp")
HOSTNAME = "gfs-edge-worker"  # never socket.getfqdn(): it can block on DNS
IDLE_TIMEOUT_SECONDS = 300.0  # RFC 5321 4.5.3.2 asks servers to wait at least 3-5 minutes for a client
LINE_LIMIT = 1 << 20  # bytes per line: RFC 5321 says 1,000, but real mail has longer lines (see IntakeSMTP)
TOO_BIG = "552 5.3.4 Message too big for system"


def escaped_limit(limit: int) -> int:
    """The most bytes a message of limit bytes takes in DATA, its leading dots doubled (RFC 5321 4.5.2).

    Only a line beginning with "." gains one, and such a line is at least 3 bytes (".", CR, LF): a third more
    at most. aiosmtpd reads DATA up to this bound, so memory stays bounded, and the handler holds the
    unescaped message to the limit itself.
    """
    return limit + limit // 3


class IntakeSMTP(SMTP):
    """aiosmtpd's session, fitted to real senders.

    Lines may be longer than RFC 5321's 1,000 bytes (aiosmtpd answers a permanent `500 Line too long`,
    and senders do emit longer lines: one corpus message has 4,097), and the timeout counts idle time:
    aiosmtpd restarts it only between commands, so a large message sent slowly was cut off mid-DATA.
    The size limit (advertised as SIZE, checked against MAIL FROM's SIZE=) counts the message as stored,
    as the HTTP door does, not as escaped in DATA (see smtp_DATA).
    """

    line_length_limit = LINE_LIMIT

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, reading up to escaped_limit: it counts the lines before removing the dots senders
        double, so a message within SIZE with many lines beginning with "." was refused a permanent 552 (the
        sender bounced an order the HTTP door takes). IntakeHandler.handle_DATA enforces the limit itself."""
        limit = self.data_size_limit
        if limit:
            self.data_size_limit = escaped_limit(limit)  # read only in DATA; no other command runs meanwhile
        try:
            await super().smtp_DATA(arg)
        finally:
            self.data_size_limit = limit

    def data_received(self, data: bytes) -> None:
        """Every chunk received proves the client alive: restart the idle timer."""
        self._reset_timeout()
        super().data_received(data)


class IntakeHandler:
    """aiosmtpd handler hooks: RCPT policy and DATA -> accept_raw."""

    def __init__(self, env: Env):
        self.env = env
        self.routes = frozenset(env.settings.email.routes)
        self.limit = env.settings.limits.email_bytes

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        """550 for any recipient not in settings.email.routes."""
        if address.lower() not in self.routes:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """250 once the raw message is durable and logged; 451 when we cannot keep it; 552 over the limit (the
        message unescaped, as stored); 554 for no message."""
        data = envelope.original_content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogateescape")
        if len(data) > self.limit:
            return TOO_BIG
        if not data.strip():  # as the HTTP door's 400: there is nothing to keep or to read
            return "554 5.6.0 empty message: expected one RFC 822 message"
        try:
            received = await accept_raw(self.env, bytes(data), door="smtp", envelope_recipients=list(envelope.rcpt_tos))
        except (SpoolUnavailable, DatabaseUnavailable) as exc:
            log.warning("smtp: message not accepted", extra={"error": str(exc)})
            return "451 4.3.0 temporary failure storing the message; please retry"
        except Exception:  # our bug must still make the sender retry, never lose the message
            log.exception("smtp: unexpected error storing the message")
            return "451 4.3.0 temporary failure; please retry"
        if received.status == "received":  # in the bucket: read back from there (a spooled one waits for the hot tier)
            # Never the bytes: a task waits for an intake slot, and each held its message (up to 25 MB) meanwhile.
            schedule(self.env, received.email_id)
        return f"250 2.0.0 OK: queued as {received.email_id} ({received.status})"


def smtp_factory(env: Env) -> Any:
    """A protocol factory for loop.create_server: one aiosmtpd SMTP session per connection."""
    handler = IntakeHandler(env)
    loop = asyncio.get_running_loop()
    return lambda: IntakeSMTP(handler, data_size_limit=env.settings.limits.email_bytes, enable_SMTPUTF8=True,
                              hostname=HOSTNAME, ident="GFS edge worker", timeout=IDLE_TIMEOUT_SECONDS, loop=loop)


async def bind_smtp(env: Env, host: str = "127.0.0.1") -> asyncio.Server:
    """Bind host:env.smtp_port on the running loop without accepting yet (the app's lifespan starts and stops it).

    Binding first makes a taken port fail the start at once, before `worker dev` spends seconds on demo data.
    """
    server = await asyncio.get_running_loop().create_server(smtp_factory(env), host=host, port=env.smtp_port,
                                                            start_serving=False)
    log.info("smtp listening", extra={"host": host, "port": env.smtp_port})
    return server
