"""Raw mail durability: the bucket under a content-addressed key, or the local spool (fsync) when it is down.

`accept_raw` is what both doors call before they acknowledge: after it returns, the message is durable
(bucket, or spool file fsynced and renamed) and logged in `inbound_email_log` (received / spooled /
duplicate). `flush_spool` is the hot tier's half: upload spooled files and turn them into 'received'.

A duplicate is the same bytes again, or the same message again under its Message-ID: from the same sender with the
same body, or the same Date and Subject (a copy re-relayed or re-signed keeps those). A Message-ID alone is not
enough: broken senders reuse one (`<1@localhost>`) for every message, and each of those orders must be read.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import BinaryIO

from worker.env import Env, iso
from worker.intake.headers import header, header_block
from worker.intake.mime import ParsedMail, read_headers
from worker.storage import StorageUnavailable

log = logging.getLogger("worker.intake")
RAW_PREFIX = "raw-mail"

FIND_IDENTICAL = "SELECT id FROM inbound_email_log WHERE status != 'duplicate' AND sha256 = :sha256 ORDER BY id LIMIT 1"
# Earlier messages under the same Message-ID from the same sender, that are not these bytes: each is compared with
# this one (newest first, a few: a sender reusing one Message-ID for every message has many).
SAME_MESSAGE_ID = """
SELECT id, raw_key, spool_path, subject FROM inbound_email_log
WHERE message_id = :message_id AND sender IS :sender AND status != 'duplicate' AND sha256 != :sha256
ORDER BY id DESC LIMIT 3
"""
IDENTICAL_REASON = "duplicate of email {id} (identical bytes)"
SAME_MESSAGE_REASON = "duplicate of email {id} (same Message-ID and sender, and the same body or Date and Subject)"
STORED_COPY = "SELECT raw_key FROM inbound_email_log WHERE sha256 = ? AND raw_key IS NOT NULL LIMIT 1"
INSERT_LOG = """
INSERT INTO inbound_email_log (message_id, sender, recipients, subject, received_at, raw_key, sha256, size_bytes,
                               door, status, reason, spool_path, duplicate_of)
VALUES (:message_id, :sender, :recipients, :subject, :received_at, :raw_key, :sha256, :size_bytes,
        :door, :status, :reason, :spool_path, :duplicate_of)
"""
UNSPOOL = """
UPDATE inbound_email_log SET raw_key = :raw_key, spool_path = NULL,
    status = CASE status WHEN 'spooled' THEN 'received' ELSE status END,
    reason = CASE status WHEN 'spooled' THEN 'uploaded from spool: ' || coalesce(reason, '') ELSE reason END
WHERE sha256 = :sha256 AND raw_key IS NULL AND spool_path IS NOT NULL
RETURNING id, status
"""


class SpoolUnavailable(Exception):
    """Neither the bucket nor the local spool could take the message: the sender must retry."""


@dataclass(frozen=True)
class Received:
    """What a door reports after the raw message is durable and logged."""

    email_id: int
    status: str  # received | spooled | duplicate
    duplicate_of: int | None = None


def raw_key(sha256_hex: str) -> str:
    """The content-addressed key of a raw message (same layout as worker.storage.content_key)."""
    return f"{RAW_PREFIX}/{sha256_hex[:2]}/{sha256_hex}.eml"


def spool_dir(env: Env) -> Path:
    """Where raw mail waits when the bucket is unreachable."""
    return env.settings.state_dir / "spool"


def incoming_dir(env: Env) -> Path:
    """Where the HTTP door streams a message before it is durable."""
    return env.settings.state_dir / "incoming"


def disk_cause(exc: OSError) -> str:
    """Why a local write failed, in the words the database's refusals use ("disk is full")."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk is full"
    return exc.strerror or str(exc) or type(exc).__name__


def check_writable(directory: Path) -> None:
    """Raise OSError unless `directory` takes a byte now: it can be made, is not read-only, is not full."""
    directory.mkdir(parents=True, exist_ok=True)
    # .tmp: a probe left behind by a crash is swept with the spool's other temp files.
    fd, name = tempfile.mkstemp(prefix=".probe-", suffix=".tmp", dir=directory)
    try:
        os.write(fd, b"\n")  # creating a file needs an inode only; a byte needs a block, as mail does
    finally:
        os.close(fd)
        os.unlink(name)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_spool(directory: Path, sha256_hex: str, source: Path | bytes) -> Path:
    """Write + fsync + rename into the spool (atomic: a crash leaves a .tmp file or the whole message).

    A failed write removes its .tmp file: left behind, a partial copy kept a full disk full.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{sha256_hex}.eml"
    tmp = directory / f".{sha256_hex}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as out:
            if isinstance(source, Path):
                with open(source, "rb") as src:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
            else:
                out.write(source)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(directory)
    return final


def _sha256(source: Path | bytes) -> str:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    with open(source, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """What tells one message under a Message-ID from another: its Date header and the hash of its body."""

    date: str | None
    body_sha256: str


def fingerprint_of(fp: BinaryIO) -> Fingerprint:
    """A raw message's Fingerprint, read in chunks (the header block bounded as the log's)."""
    head = header_block(fp)
    try:
        date = header(BytesParser(policy=policy.default).parsebytes(head, headersonly=True), "Date")
    except Exception:  # noqa: BLE001 (hostile headers: no Date, so only the body can tell)
        date = None
    body = hashlib.sha256()
    while chunk := fp.read(1 << 20):
        body.update(chunk)
    return Fingerprint(date, body.hexdigest())


def fingerprint(source: Path | bytes) -> Fingerprint:
    """fingerprint_of a raw message's bytes or file (call it from a thread)."""
    if isinstance(source, bytes):
        return fingerprint_of(io.BytesIO(source))
    with open(source, "rb") as fp:
        return fingerprint_of(fp)


def same_message(new: Fingerprint, new_subject: object, old: Fingerprint, old_subject: object) -> bool:
    """Whether two messages under one Message-ID from one sender are the same message: the same body (re-relayed,
    or re-signed in its headers), or the same Date and Subject (re-signed around its body: multipart/signed)."""
    return new.body_sha256 == old.body_sha256 or (new.date is not None and new.date == old.date
                                                   and new_subject == old_subject)


async def _stored(env: Env, raw_key: str | None, spool_path: str | None) -> Fingerprint | None:
    """An earlier message's Fingerprint from the bucket or the spool; None when neither has it now."""
    try:
        if raw_key is not None:
            return await asyncio.to_thread(fingerprint, await env.bucket.get(raw_key))
        if spool_path is not None:
            return await asyncio.to_thread(fingerprint, Path(spool_path))
    except (StorageUnavailable, OSError) as exc:  # then it is read: better twice, flagged, than never
        log.warning("cannot compare with an earlier message", extra={"raw_key": raw_key, "error": str(exc)})
    return None


async def _same_message_as(env: Env, source: Path | bytes, row: dict[str, object]) -> int | None:
    """The earlier email this one is the same message as under its Message-ID, if any (identical bytes are found
    in the write)."""
    if row["message_id"] is None:
        return None
    earlier = await env.db.fetchall(SAME_MESSAGE_ID, row)
    if not earlier:
        return None
    mine = await asyncio.to_thread(fingerprint, source)
    for email_id, key, spool_path, subject in earlier:
        theirs = await _stored(env, key, spool_path)
        if theirs is not None and same_message(mine, row["subject"], theirs, subject):
            return int(email_id)
    return None


def _log(conn: sqlite3.Connection, row: dict[str, object], same_as: int | None = None) -> Received:
    identical = conn.execute(FIND_IDENTICAL, row).fetchone()
    if (original := identical[0] if identical else same_as) is not None:
        reason = (IDENTICAL_REASON if identical else SAME_MESSAGE_REASON).format(id=original)
        row = {**row, "status": "duplicate", "duplicate_of": original, "reason": reason}
    cursor = conn.execute(INSERT_LOG, row)
    return Received(int(cursor.lastrowid or 0), str(row["status"]), row["duplicate_of"])  # type: ignore[arg-type]


def _row(mail: ParsedMail, sha256_hex: str, size: int, door: str, received_at: str,
         envelope_recipients: list[str] | None) -> dict[str, object]:
    recipients = list(dict.fromkeys([r.lower() for r in envelope_recipients or []] + mail.recipients))
    return {"message_id": mail.message_id, "sender": mail.sender, "recipients": ParsedMail(recipients=recipients)
            .recipients_json(), "subject": mail.subject, "received_at": received_at, "raw_key": None,
            "sha256": sha256_hex, "size_bytes": size, "door": door, "status": "received", "reason": None,
            "spool_path": None, "duplicate_of": None}


async def accept_raw(env: Env, source: Path | bytes, *, door: str, sha256_hex: str | None = None,
                     envelope_recipients: list[str] | None = None) -> Received:
    """Make a raw message durable (bucket, else spool) and log it; raises SpoolUnavailable or DatabaseUnavailable."""
    if sha256_hex is None:
        sha256_hex = await asyncio.to_thread(_sha256, source)
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    mail = read_headers(source)
    row = _row(mail, sha256_hex, size, door, iso(env.clock()), envelope_recipients)
    key = raw_key(sha256_hex)
    try:
        if await env.db.fetchone(STORED_COPY, (sha256_hex,)) is None:  # identical bytes are stored already
            await (env.bucket.put_file(key, source, "message/rfc822") if isinstance(source, Path)
                   else env.bucket.put(key, source, "message/rfc822"))
        row["raw_key"] = key
    except StorageUnavailable as exc:
        try:
            # In a thread: writing and fsyncing a large message held every other request up.
            path = await asyncio.to_thread(write_spool, spool_dir(env), sha256_hex, source)
        except OSError as spool_exc:
            log.error("cannot store raw mail anywhere", extra={"bucket": str(exc), "spool": str(spool_exc)})
            raise SpoolUnavailable(f"{exc}; local spool failed too: {disk_cause(spool_exc)}") from None
        row.update(status="spooled", spool_path=str(path), reason=f"bucket unavailable, spooled locally: {exc}")
    received = await env.db.write(_log, row, await _same_message_as(env, source, row))
    log.info("inbound mail stored", extra={"email_id": received.email_id, "status": received.status, "door": door,
                                           "bytes": size})
    return received


def _unspool(conn: sqlite3.Connection, key: str, row: dict[str, object]) -> list[int]:
    # By content, not by path: the spool file's name is its sha256, but the state directory may have moved
    # (a new release directory, another mount) since the row recorded where it was.
    updated = conn.execute(UNSPOOL, {"raw_key": key, "sha256": row["sha256"]}).fetchall()
    if not updated:  # a spool file without a log row: the database failed after the fsync. Log it now.
        received = _log(conn, {**row, "raw_key": key, "reason": "found in spool without a log row"})
        updated = [(received.email_id, received.status)]
    return [int(email_id) for email_id, status in updated if status == "received"]


async def flush_spool(env: Env) -> tuple[list[int], dict[str, int]]:
    """Upload every spooled message; returns the ids now 'received' (to process) and counts."""
    counts = {"uploaded": 0, "still_spooled": 0, "corrupt": 0}
    ready: list[int] = []
    directory = spool_dir(env)
    for path in sorted(directory.glob("*.eml")) if directory.is_dir() else []:
        data = await asyncio.to_thread(path.read_bytes)
        sha = await asyncio.to_thread(_sha256, data)  # megabytes: off the loop, like the write
        if sha != path.stem:  # never delete what we cannot account for: leave it for a person
            counts["corrupt"] += 1
            log.error("spool file does not match its name", extra={"path": str(path)})
            continue
        key = raw_key(sha)
        try:
            await env.bucket.put(key, data, "message/rfc822")
        except StorageUnavailable:
            counts["still_spooled"] += 1
            continue
        row = _row(read_headers(data), sha, len(data), "spool", iso(env.clock()), None)
        ready += await env.db.write(_unspool, key, row)
        path.unlink()
        counts["uploaded"] += 1
    return ready, counts
