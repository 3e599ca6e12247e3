"""The `worker` command (SPEC 3.1). Each subcommand is a small function; the work lives elsewhere."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import inspect
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING

from worker.as_of import check_as_of, parse_as_of
from worker.config import DEFAULT_CONFIG, ConfigError, Secrets, Settings, load_settings
from worker.db import DatabaseUnavailable, connect_read_only
from worker.env import Env, build_env, iso, utcnow
from worker.logs import (
    configure_logging,
    hide_secrets,
    print_traceback,
    redact_text,
    redact_tracebacks,
    secret_values,
)
from worker.migrations import SchemaTooNew
from worker.serving import StartupError
from worker.storage import StorageUnavailable

if TYPE_CHECKING:
    from worker.seaweed import EmbeddedS3

EX_TEMPFAIL = 75  # `worker cron` when the tier is already running elsewhere
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # `worker cron` stops its run on either (exit 128 + the signal)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="worker", description="GFS edge worker")
    parser.add_argument("--config", type=Path, help="path to wrangler-like.toml (default: the repo's)")
    parser.add_argument("--env", dest="env_name", help="use the [env.NAME] overrides")
    parser.add_argument("--log-level", default="INFO", type=_log_level, help="DEBUG, INFO, WARNING or ERROR")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="the main job on embedded defaults (SQLite, SeaweedFS, demo data)")
    dev.add_argument("--port", type=_port, default=8787)
    dev.add_argument("--smtp-port", type=_smtp_port, default=2525)
    dev.add_argument("--server", choices=["granian", "uvicorn"], default="granian")

    serve = sub.add_parser("serve", help="production serving: no demo data, no embedded S3 unless asked")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8787)
    serve.add_argument("--smtp-port", type=_smtp_port, default=2525, help="0 disables SMTP")
    serve.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    serve.add_argument("--embedded-s3", action="store_true", help="start SeaweedFS when no endpoint is configured")
    serve.add_argument("--no-cron", action="store_true", help="do not run the cron tiers in this process")

    cron = sub.add_parser("cron", help="run one cron tier once and exit")
    cron.add_argument("tier", choices=["hot", "warm", "cold"])
    cron.add_argument("--as-of", type=_as_of_syntax, metavar="ISO-DATETIME",
                      help="ISO date or datetime the run is for, not later than now (default: now); a date alone "
                           "is its midnight and a time without an offset is local, both in TIMEZONE")

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("init", help="create or migrate the database")

    sub.add_parser("hash-password", help="read a password on stdin, print its hash for REVIEW_USERS")

    ref = sub.add_parser("import-reference", help="load the curated reference files in DIR (SPEC 10)")
    ref.add_argument("directory", type=Path, metavar="DIR")
    ref.add_argument("--partial", action="store_true", help="load a file's valid rows even if some are rejected")
    ref.add_argument("--allow-deletes", action="store_true",
                     help="load a file even if it removes more than half of its table's rows")

    backfill = sub.add_parser("backfill", help="bulk-load CDC events (webhook format, one per line) with a progress bar")
    backfill.add_argument("file", type=Path, metavar="FILE.jsonl")
    backfill.add_argument("--batch-size", type=_batch_size, default=5000, help="events per transaction (default 5000)")

    replay = sub.add_parser("replay-dead-letters", help="re-apply dead-lettered payloads after a fix")
    replay.add_argument("--id", type=int, dest="letter_id", help="only this dead letter (even if replayed before)")
    return parser


def _batch_size(text: str) -> int:
    # 0 or a negative size used to run as 1 silently: one transaction per event, a hundred times slower.
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a number of events (1 or more)")
    return int(text)


def _port(text: str, lowest: int = 1) -> int:
    if not text.isdigit() or not lowest <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port ({lowest}-65535)")
    return int(text)


def _smtp_port(text: str) -> int:
    return _port(text, lowest=0)  # 0: no SMTP


def _log_level(text: str) -> str:
    if text.upper() not in logging.getLevelNamesMapping():
        raise argparse.ArgumentTypeError(f"unknown level {text!r} (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
    return text.upper()


def _as_of_syntax(text: str) -> str:
    # Checked at parse time for a usage error; the zone (from the config) is applied in cmd_cron.
    try:
        parse_as_of(text, UTC)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `worker` console script."""
    redact_tracebacks()  # a bug's traceback, printed by Python once main has raised it, quotes what the exception does
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    if args.command == "hash-password":
        return cmd_hash_password()
    try:
        # The secrets first (their errors name a variable, never a value) and registered at once: a settings error
        # may quote one (an endpoint URL with the access key in it), as may any line logged or said from here on.
        secrets = Secrets.from_environ(os.environ)
        hide_secrets(secret_values(secrets))  # whatever a line quotes them in (an exception, a URL), unlabelled
        settings = _load_settings(args.config, args.env_name)
    except ConfigError as exc:
        say(str(exc))
        return 2
    handler = COMMANDS[args.command if args.command != "db" else f"db {args.db_command}"]
    try:
        # Only the commands that need an event loop get one: inside asyncio.run, Ctrl-C merely cancels the
        # task, which a synchronous command (a backfill) would not notice until it had finished.
        if inspect.iscoroutinefunction(handler):
            return asyncio.run(handler(args, settings, secrets))
        return handler(args, settings, secrets)
    except KeyboardInterrupt:
        return 130
    except StartupError as exc:
        say(f"cannot start: {_startup_failure(exc, settings)}")
        return 1
    except Exception as exc:
        if (message := failure_message(exc, settings)) is None:
            raise  # a bug: its traceback is the report (redacted: redact_tracebacks), exit status 1
        say(message)
        return 1


def say(message: str, *, start: str = "") -> None:
    """Print `worker: message` on stderr (after `start`), redacted as log lines are: an exception's text may quote
    a secret (a URL with credentials, a path). Only the secrets registered by then are known: none before main
    reads them (argparse's usage errors, printed by argparse, and hash-password, which reads no configuration)."""
    print(f"{start}worker: {redact_text(message)}", file=sys.stderr)


def show(line: str) -> None:
    """Print a line of a command's report on stdout, redacted as `say`'s are: it may quote an error (a cron job's,
    a dead letter's), a rejected row, an endpoint URL with its keys in it. In one write with its newline (print
    writes `end` apart): a second Ctrl-C landing in it cannot leave what follows on the same line."""
    print(f"{redact_text(line)}\n", end="", flush=True)


def _load_settings(path: Path | None, env_name: str | None) -> Settings:
    """load_settings, with a file that cannot be read as text reported as the configuration error it is."""
    try:
        return load_settings(path, env_name)
    except OSError as exc:
        raise ConfigError(f"{exc.filename}: cannot read the configuration: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        where = Path(path or os.environ.get("WORKER_CONFIG") or DEFAULT_CONFIG).resolve()  # as load_settings reads it
        raise ConfigError(f"{where}: not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start}") from exc


def failure_message(exc: BaseException, settings: Settings) -> str | None:
    """One line for a failure the operator must fix (the database file, a lock, a path); None for a bug."""
    if isinstance(exc, sqlite3.Error) and not isinstance(exc, (sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        busy = any(word in str(exc) for word in ("locked", "busy"))
        wait = f" (still busy after [db] busy_timeout_ms = {settings.db.busy_timeout_ms})" if busy else ""
        return f"{settings.db.path}: {exc}{wait}"
    if isinstance(exc, (SchemaTooNew, DatabaseUnavailable)):
        return f"{settings.db.path}: {exc}"
    if isinstance(exc, OSError):
        return f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)
    return None


def _startup_failure(exc: StartupError, settings: Settings) -> str:
    """Why the server did not start, in one line (after the traceback when the app's startup has a bug)."""
    if exc.app_error is None:
        return str(exc)
    if (message := failure_message(exc.app_error, settings)) is not None:
        return message
    print_traceback(type(exc.app_error), exc.app_error, exc.app_error.__traceback__)
    return f"{type(exc.app_error).__name__}: {exc.app_error}"


async def cmd_dev(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Embedded defaults: SeaweedFS when no endpoint, demo data when empty, HTTP + SMTP + cron."""
    return await _run_server(args, settings, secrets, host="127.0.0.1", dev=True, embedded_s3=True)


async def cmd_serve(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Production serving."""
    return await _run_server(args, settings, secrets, host=args.host, dev=False, embedded_s3=args.embedded_s3)


async def _run_server(args: argparse.Namespace, settings: Settings, secrets: Secrets, *, host: str, dev: bool,
                      embedded_s3: bool) -> int:
    from worker.app import create_app
    from worker.auth import ReviewUsersError, parse_review_users
    from worker.seaweed import EmbeddedS3, SeaweedError
    from worker.serving import serve

    try:  # before anything starts: the lifespan would find it only after the S3 server and the database
        parse_review_users(secrets.review_users.get_secret_value() if secrets.review_users else "")
    except ReviewUsersError as exc:
        say(str(exc))
        return 2
    s3 = None
    endpoint = settings.bucket.endpoint
    if not endpoint:
        if not embedded_s3:
            say("no S3 endpoint: set WORKER_S3_ENDPOINT (or pass --embedded-s3)")
            return 2
        # Launched on this thread (weed dies with it: seaweed.py) and waited for inside the try: a signal while
        # SeaweedFS starts still stops it, which would otherwise hold the filer's lock against the next start.
        s3 = EmbeddedS3(settings.state_dir / "s3", settings.bucket.bucket)
    try:
        if s3 is not None:
            try:
                await _start_embedded_s3(s3)
            except SeaweedError as exc:  # its log names the cause (e.g. another weed on this state dir)
                raise StartupError(str(exc)) from exc
            endpoint = s3.endpoint  # its ports are known once it started
        env = build_env(settings, secrets, bucket_endpoint=endpoint, dev=dev, scheduler=not getattr(args, "no_cron", False),
                        smtp_port=args.smtp_port or None)
        try:
            await env.bucket.ensure_bucket()
        except StorageUnavailable as exc:  # a wrong endpoint far more often than an outage: said in one line
            raise StartupError(f"{endpoint}: {exc} (bucket {settings.bucket.bucket})") from exc
        if dev:
            await _prepare_dev(env)
        _print_urls(host, args.port, args.smtp_port, endpoint, settings)
        for line in unset_routes(secrets):
            show(line)
        app = create_app(env)
        # Modules, app and env live as long as the process: freezing them keeps the collector's full passes
        # from rescanning ~200k objects every few hundred requests (~14 us per CDC event, bench/webhook.py).
        gc.collect()
        gc.freeze()
        env.extras["stopping"] = stopping = asyncio.Event()  # a signal stops the server and the scheduler at once
        await serve(app, host, args.port, server=args.server, stop=stopping)
    finally:
        if s3 is not None:
            await asyncio.to_thread(s3.stop)
    return 0


async def _start_embedded_s3(s3: EmbeddedS3) -> None:
    """EmbeddedS3.start for an event loop: each launch on this thread (weed dies with the thread that forked it),
    the wait in another, on fresh ports when one chosen was taken before weed bound it."""
    from worker.seaweed import PORT_ATTEMPTS, PortTaken

    for attempt in range(1, PORT_ATTEMPTS + 1):
        s3.launch()
        try:
            await asyncio.to_thread(s3.wait_ready)
            return
        except PortTaken:
            if attempt == PORT_ATTEMPTS:
                raise
            s3.repick_ports()


async def _prepare_dev(env: Env) -> None:
    """Development conveniences before serving (demo data is loaded by the app's lifespan)."""
    env.extras["load_demo_data"] = True


def _print_urls(host: str, port: int, smtp_port: int, endpoint: str, settings: Settings) -> None:
    show(f"GFS edge worker ({settings.name}) on http://{host}:{port}")
    show(f"  health:   http://{host}:{port}/healthz")
    show(f"  review:   http://{host}:{port}/review")
    show(f"  openapi:  http://{host}:{port}/schema")
    if smtp_port:  # bind_smtp listens on 127.0.0.1 whatever --host is: a relay in front takes public mail
        show(f"  smtp:     127.0.0.1:{smtp_port} for {', '.join(settings.email.routes)}")
    show(f"  s3:       {endpoint} bucket {settings.bucket.bucket}")  # the endpoint may hold the access keys
    show(f"  database: {settings.db.path}")


def unset_routes(secrets: Secrets) -> list[str]:
    """Banner lines naming the routes a missing secret turns off (503), so `worker dev` says why they refuse (pure)."""
    off = [("/api/inbound-email, /api/proposed-actions", "INTAKE_TOKEN", secrets.intake_token),
           ("/api/ns-webhook", "NS_WEBHOOK_SECRET", secrets.ns_webhook_secret)]
    return [f"  off:      {routes} (503 until {name} is set)" for routes, name, value in off if value is None]


async def cmd_cron(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Run one tier once; 0 ok, 1 failed, 2 for an --as-of in the future, 75 when the tier is already running
    elsewhere, 130 when stopped by SIGINT (Ctrl-C), 143 by SIGTERM."""
    from worker.tiers import run_tier

    as_of = None
    if args.as_of is not None:
        as_of = parse_as_of(args.as_of, settings.timezone)
        if problem := check_as_of(args.as_of, as_of, utcnow()):
            say(problem)
            return 2
    env = build_env(settings, secrets)
    # asyncio.run turns only SIGINT into a cancellation. SIGTERM (systemd stop, a CronJob deadline, `timeout`)
    # would kill the process mid-run, leaving the run `running` and the tier's lease held until it expires.
    # Cancelled instead, the run records itself failed and lets go. Both signals are handled here, so that a wait
    # for another process's write lock before the run has written anything (opening the database, taking the
    # lease) is given up too: SQLite's wait sleeps through signals, up to busy_timeout_ms. A second signal kills at
    # once (the default action): a run recording itself may wait for that lock, and a KeyboardInterrupt would only
    # cancel the recording and wait again on closing. The lease it leaves expires (the hot tier marks the run failed).
    loop, main_task = asyncio.get_running_loop(), asyncio.current_task()
    stopped_by: list[signal.Signals] = []

    def on_signal(signum: signal.Signals) -> None:
        stopped_by.append(signum)
        for each in STOP_SIGNALS:
            loop.remove_signal_handler(each)
            signal.signal(each, signal.SIG_DFL)
        env.db.give_up_waiting()  # nothing once the run has written (its lease): its last write lets go of it
        main_task.cancel()

    for each in STOP_SIGNALS:
        loop.add_signal_handler(each, on_signal, each)
    try:
        await env.db.open(readers=1)
        result = await run_tier(env, args.tier, scheduled_at=as_of)
    except asyncio.CancelledError:
        if not stopped_by:
            raise
        say(f"cron {args.tier}: stopped by {stopped_by[0].name}")
        return 128 + stopped_by[0]
    finally:
        for each in STOP_SIGNALS:  # from here a signal acts at once, as before: only closing is left
            loop.remove_signal_handler(each)
        await env.db.close()  # also after a failed open: nothing it started may keep the process alive
    show(f"cron {result.tier}: {result.status} (run {result.run_id}) {result.counts}"
         + (f" error: {result.error}" if result.error else ""))
    return {"ok": 0, "skipped": EX_TEMPFAIL}.get(result.status, 1)


def cmd_db_init(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Create or migrate the database file and say which version it is at."""
    from worker.db import connect
    from worker.migrations import apply_schema

    settings.db.path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(settings.db.path, busy_timeout_ms=settings.db.busy_timeout_ms)
    try:
        version = apply_schema(conn)
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view')").fetchone()[0]
    finally:
        conn.close()
    show(f"database {settings.db.path}: schema version {version}, {tables} tables and views")
    return 0


def cmd_hash_password() -> int:
    """Read a password (no echo on a terminal) and print its hash."""
    from worker.passwords import hash_password

    # No message may carry any part of the password: not a character, not a byte, not a position.
    newline = "\n" if sys.stdin.isatty() else ""  # the terminal's cursor is still after the prompt
    try:
        password = _read_password()
        encoded = hash_password(password) if password else ""
    except KeyboardInterrupt:
        say("interrupted: no password read", start=newline)
        return 130
    except EOFError:
        say("no password: end of input", start=newline)
        return 1
    except ValueError:  # undecodable input (UnicodeDecodeError is a ValueError), or hash_password refused it
        say("the password is not valid UTF-8 text", start=newline)
        return 1
    if not password:
        say("empty password")
        return 2
    print(encoded)
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    # As bytes: a text stdin may carry an undecodable byte on as a surrogate, which is then named in errors.
    line = sys.stdin.buffer.readline()
    if not line:  # not even a newline: end of input, as getpass reports Ctrl-D (an empty line is an empty password)
        raise EOFError
    return line.decode("utf-8").rstrip("\r\n")


def cmd_import_reference(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Load reference files; 0 when all loaded cleanly, 1 when any row or file was rejected, 2 for a bad DIR."""
    from worker.db import connect
    from worker.migrations import apply_schema
    from worker.reference import FILE_NAMES, import_reference

    # Any entry under a reference file's name counts (a directory or FIFO is then reported as that file's error).
    if not args.directory.is_dir() or not any(os.path.lexists(args.directory / n) for n in FILE_NAMES):
        say(f"{args.directory}: no reference files (expected any of {', '.join(FILE_NAMES)})")
        return 2
    settings.db.path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(settings.db.path, busy_timeout_ms=settings.db.busy_timeout_ms)
    try:
        apply_schema(conn)
        # The company's date, as an order event's reconciliation reads it (a dateless order is judged on it).
        today = utcnow().astimezone(settings.timezone).date().isoformat()
        report = import_reference(conn, args.directory, partial=args.partial, allow_deletes=args.allow_deletes,
                                  today=today)
    finally:
        conn.close()
    for file_report in report.files:
        show(file_report.summary())
        for error in file_report.errors:
            show(f"  rejected {error}")
    return 0 if report.ok else 1


def cmd_backfill(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Apply a JSON-lines file of CDC events; 0 when every line applied, 1 when some went to dead_letters."""
    from worker.backfill import NotJsonLines, backfill_file

    if not args.file.is_file():
        # A regular file only: the bar needs its size, and a re-run must read the same bytes to resume.
        what = "no such file" if not args.file.exists() else "a directory" if args.file.is_dir() else \
            "not a regular file (a pipe or device): save the export to a file first"
        say(f"{args.file}: {what}")
        return 2
    mark = _backfill_counts(settings.db.path, BACKFILL_MARK, {})
    try:
        # On this thread, outside any event loop: Ctrl-C interrupts it at once (the transaction in progress
        # rolls back, the reader process is stopped), and a single-threaded process may fork its reader.
        counts = backfill_file(settings.db.path, args.file, batch_size=args.batch_size,
                               progress=sys.stderr.isatty(), busy_timeout_ms=settings.db.busy_timeout_ms)
    except NotJsonLines as refused:
        say(str(refused))
        return 2
    except KeyboardInterrupt:
        since = {"receipt": mark[0], "letter": mark[1]}
        events, transactions = _backfill_counts(settings.db.path, BACKFILLED_SINCE, since)
        say(f"interrupted after {transactions} transactions ({events} events committed); "
            "run the same command again to resume")
        return 130
    for reason in counts["rejected_reasons"]:
        show(f"  dead-lettered {reason}")
    show("backfill {}: applied {applied}, duplicate {duplicate}, stale {stale}, rejected {rejected} "
         "in {batches} transactions".format(args.file, **counts))
    return 1 if counts["rejected"] else 0


# What a backfill wrote is counted in the database (its counters die with the interrupted call): receipts and
# dead letters after the marks taken before it started; one transaction shares one received_at.
BACKFILL_MARK = "SELECT (SELECT max(rowid) FROM webhook_receipts), (SELECT max(id) FROM dead_letters)"
BACKFILLED_SINCE = """
SELECT count(*), count(DISTINCT received_at) FROM (
    SELECT received_at FROM webhook_receipts WHERE rowid > :receipt AND source = 'backfill'
    UNION ALL
    SELECT received_at FROM dead_letters WHERE id > :letter AND source = 'backfill')
"""


def _backfill_counts(db_path: Path, sql: str, params: dict[str, int]) -> tuple[int, int]:
    """The two numbers sql reads from the database ((0, 0) for none: no database, or no tables yet)."""
    try:
        with closing(connect_read_only(db_path)) as conn:
            first, second = conn.execute(sql, params).fetchone()
    except sqlite3.Error:
        return 0, 0
    return first or 0, second or 0


def cmd_replay_dead_letters(args: argparse.Namespace, settings: Settings, secrets: Secrets) -> int:
    """Replay pending dead letters (or --id N); 0 when all replayed, 1 when some still fail, 2 for an unknown id.

    Each letter is reported as its transaction commits: when a later one fails (a lock held past the busy
    timeout, a full disk) or Ctrl-C stops the run, the letters it committed before have been reported, then how
    many of all those listed. Ctrl-C stops the run after the letter in progress: raised where it landed, it could
    fall between a letter's commit and its report (an interrupted write loses its line). A second one stops at once.
    """
    from worker.db import connect
    from worker.deadletters import letters_to_replay, replay_each
    from worker.migrations import apply_schema

    settings.db.path.parent.mkdir(parents=True, exist_ok=True)
    with closing(connect(settings.db.path, busy_timeout_ms=settings.db.busy_timeout_ms)) as conn:
        apply_schema(conn)
        try:
            letters = letters_to_replay(conn, args.letter_id)
        except LookupError as exc:
            say(str(exc))
            return 2
        replayed = failing = 0
        try:
            with _interrupt_between_steps() as interrupted:
                for outcome in replay_each(conn, letters, now=lambda: iso(utcnow()),
                                           again=args.letter_id is not None):
                    replayed += outcome["ok"]  # counted before printing: a second Ctrl-C may land in `show`,
                    failing += not outcome["ok"]
                    show(f"dead letter {outcome['id']}: {outcome['state']}: {outcome['result']}")  # one write
                    if interrupted():
                        raise KeyboardInterrupt
        except BaseException as exc:  # the error is main's one line (or a bug's traceback), after what was done
            # Ctrl-C ends the run with how many were done (main exits 130), as the backfill does.
            cause = "the interruption" if isinstance(exc, KeyboardInterrupt) else "the error"
            show(f"{replayed} of {len(letters)} dead letters replayed before {cause}")
            raise
    show(f"{replayed} of {len(letters)} dead letters replayed")
    return 1 if failing else 0


@contextmanager
def _interrupt_between_steps() -> Iterator[Callable[[], bool]]:
    """Within: Ctrl-C is noted, for the caller to stop at the end of the step in progress (the callable says
    whether it came); a second Ctrl-C raises KeyboardInterrupt wherever it lands, as outside."""
    came: list[int] = []

    def note(signum: int, frame: object) -> None:
        came.append(signum)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield lambda: bool(came)
    finally:
        signal.signal(signal.SIGINT, previous)


COMMANDS = {
    "dev": cmd_dev,
    "serve": cmd_serve,
    "cron": cmd_cron,
    "db init": cmd_db_init,
    "import-reference": cmd_import_reference,
    "backfill": cmd_backfill,
    "replay-dead-letters": cmd_replay_dead_letters,
}

if __name__ == "__main__":
    sys.exit(main())
