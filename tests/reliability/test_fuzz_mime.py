"""Hostile mail: hypothesis over the MIME reader (random bytes and mutations of real-world messages from the
shared corpora), then mutated corpus messages through the live HTTP door, end to end.

The reader must never raise (problems are reported in ParsedMail.problems); the door must answer every
message 202, keep it, and bring it to an explained end state (processed, or a reason) without hanging.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import CORPORA
from tests.helpers import LiveServer
from tests.reliability.conftest import FUZZ_LARGE, FUZZ_SMALL
from tests.reliability.traffic import MAIL_HEADERS
from worker.intake.mime import ParsedMail, read_headers, read_mail

EMAILS = sorted((CORPORA / "emails").glob("*.eml")) if (CORPORA / "emails").is_dir() else []
DONE = ("processed", "needs_manual", "failed", "duplicate")


def mutate(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """Byte flips, truncation, insertions and duplicated slices: what broken relays and attackers produce."""
    out = bytearray(data)
    for _ in range(rounds):
        if not out:
            break
        at = rng.randrange(len(out))
        kind = rng.randrange(5)
        if kind == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del out[at:]
        elif kind == 2:
            out[at:at] = rng.randbytes(rng.randrange(1, 64))
        elif kind == 3:
            end = min(len(out), at + rng.randrange(1, 400))
            out[at:at] = out[at:end] * rng.randrange(1, 4)
        else:
            out[at:at] = rng.choice([b"\r\n--", b"\r\n\r\n", b"Content-Type: multipart/mixed; boundary=\"x\"\r\n",
                                     b"=?utf-8?b?", b"%PDF-1.7\n", b"\r\n.\r\n", b"\x00"])
    return bytes(out)


def read_everything(data: bytes) -> None:
    """Both reader entry points accept the bytes without raising and return ParsedMail."""
    assert isinstance(read_headers(data), ParsedMail)
    mail = read_mail(data)
    assert isinstance(mail, ParsedMail)
    assert all(isinstance(part.data, bytes) for part in mail.pdfs)


corpus_mutations = st.tuples(st.sampled_from(EMAILS or [Path("/dev/null")]), st.integers(0, 2**32), st.integers(1, 6))


@FUZZ_SMALL
@given(data=st.binary(max_size=4000))
def test_reader_survives_random_bytes(data: bytes) -> None:
    read_everything(data)


@FUZZ_SMALL
@given(case=corpus_mutations)
def test_reader_survives_mutated_real_messages(corpora: Path, case: tuple[Path, int, int]) -> None:
    path, seed, rounds = case
    read_everything(mutate(path.read_bytes(), random.Random(seed), rounds))


@pytest.mark.slow
@FUZZ_LARGE
@given(case=corpus_mutations)
def test_reader_survives_mutated_real_messages_long(corpora: Path, case: tuple[Path, int, int]) -> None:
    path, seed, rounds = case
    read_everything(mutate(path.read_bytes(), random.Random(seed), rounds))


def through_the_door(server: LiveServer, messages: list[bytes], timeout: float = 240) -> None:
    """POST each message; every one is 202 and reaches an explained end state (a blank one is a 400)."""
    ids = []
    for raw in messages:
        reply = httpx.post(server.url + "/api/inbound-email", content=raw, headers=MAIL_HEADERS, timeout=60)
        if not raw.strip():  # nothing, or only blank lines: no message to keep
            assert reply.status_code == 400 and "empty body" in reply.json()["detail"], reply.text
            continue
        assert reply.status_code == 202, reply.text
        ids.append(reply.json()["email_id"])
    deadline = time.monotonic() + timeout
    while True:
        rows = server.run(server.env.db.fetchall("SELECT id, status, reason, raw_key FROM inbound_email_log"))
        pending = [dict(r) for r in rows if r["status"] not in DONE]
        if not pending:
            break
        assert time.monotonic() < deadline, f"mail still not finished: {pending}"
        time.sleep(0.2)
    assert sorted(r["id"] for r in rows) == sorted(ids)
    for row in rows:
        assert row["raw_key"], row
        if row["status"] not in ("processed", "duplicate"):
            assert (row["reason"] or "").strip(), f"email {row['id']} is {row['status']} without a reason"


def test_mutated_corpus_through_the_http_door(server: LiveServer, corpora: Path) -> None:
    rng = random.Random(5)
    through_the_door(server, [mutate(path.read_bytes(), rng) or b"\n" for path in rng.sample(EMAILS, 10)])


@pytest.mark.slow
def test_mutated_corpus_through_the_http_door_long(server: LiveServer, corpora: Path) -> None:
    rng = random.Random(6)
    through_the_door(server, [mutate(path.read_bytes(), rng) or b"\n" for path in EMAILS for _ in range(3)], timeout=900)
