"""What of an email could not be read, said where people look: the log reason and the email's review items.

Pure functions of a parsed mail. A forward that could not be decoded or lay too deep, parts past the parts limit,
and a MIME structure that broke the parser all leave part of the email unread, and a PDF may be in it: that note
follows the email's items (an `unread_part` warning) and its log reason. MIME defects go to the log only.
"""

from __future__ import annotations

import json

from worker.intake.mime import ParsedMail

UNREAD = "part of the email could not be read: {}"  # a forward, parts past the limit, or a MIME structure
# An email with neither PDF nor text whose unread part may hold one: the original email is all there is to read.
NOTHING_READ_REASON = ("no PDF attachment or text found, and {unread}; open the original email and enter any "
                       "order by hand, or reject")
MAX_NOTED_PROBLEMS = 3
MAX_LOG_REASON = 1000


def unread_note(mail: ParsedMail) -> str:
    """What of the email was not read (malformed MIME included), as a note ('' if it was read whole). MIME defects
    are noted only in the log: the corpus has them on ordinary mail whose text is all there."""
    unread = [p for p in mail.problems if not p.startswith("MIME defect: ")]
    return UNREAD.format("; ".join(unread[:MAX_NOTED_PROBLEMS])) if unread else ""


def unread_flag(unread: str) -> dict[str, object]:
    """The warning that part of the email, which may hold a PDF, was never looked at."""
    return {"code": "unread_part", "severity": "warning", "message": unread}


def with_unread(row: dict[str, object], unread: str) -> dict[str, object]:
    """A PDF's item of an email with an unread part: the note ends its reason and is flagged after needs_manual."""
    if not unread:
        return row
    flags = json.loads(str(row["flags_json"]))
    at = 1 if flags and flags[0].get("code") == "needs_manual" else 0
    return {**row, "reason": f"{row['reason']}; {unread}" if row["reason"] else unread,
            "flags_json": json.dumps([*flags[:at], unread_flag(unread), *flags[at:]], default=str)}


def problems_note(mail: ParsedMail) -> str:
    """The log's note of what was not read and the message's MIME defects, after a '; ' ('' for neither)."""
    defects = [p.removeprefix("MIME defect: ") for p in mail.problems if p.startswith("MIME defect: ")]
    unread = f"; {note}" if (note := unread_note(mail)) else ""
    return unread + (f" (MIME defects: {', '.join(defects[:MAX_NOTED_PROBLEMS])})" if defects else "")


def noted(reason: str, note: str) -> str:
    """A log reason with the problems note kept whole at its end (a long list of PDF reasons is cut instead)."""
    return (reason[:max(0, MAX_LOG_REASON - len(note))] + note)[:MAX_LOG_REASON]
