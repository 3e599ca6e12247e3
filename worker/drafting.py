"""Collection emails: a Jinja2 template by default, Claude when ANTHROPIC_API_KEY is set.

Claude writes only the wording (subject and message, through one forced tool call), guided by the
customer's approved reflexion observations; the table of open invoices is always rendered by us from
the mirror, so amounts and numbers in the email are never a model's. Any API error or unusable output
falls back to the template, and the draft records why. Each invoice is shown in its own currency and the
total is per currency ("$10,000.00 and EUR 20,000.00"): amounts in two currencies are never added up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.claude import ClaudeFailure, create_message, tool_call
from worker.env import Env
from worker.pricing import amounts_text, money, totals_by_currency

TOOL_NAME = "write_collection_email"
MAX_EXAMPLES = 3
EXAMPLES = """
SELECT observation FROM reflexion_log
WHERE entity_type = 'customer' AND entity_id = ? AND status = 'approved_for_reuse' AND tags_json LIKE ?
ORDER BY created_at DESC, id DESC LIMIT ?
"""
_TEMPLATES = Environment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
                         keep_trailing_newline=True)  # plain-text email; the review page escapes on display
SUBJECT = _TEMPLATES.from_string(
    "{{ company }}: {{ count }} past-due invoice{{ 's' if count > 1 }}, {{ total }} outstanding")
MESSAGE = _TEMPLATES.from_string("""\
Dear {{ greeting }},

Our records show {{ count }} invoice{{ 's' if count > 1 }} on your account past due, {{ total }} in total,
the oldest {{ oldest_days }} days past its due date. If payment is already on its way, thank you, and please
let us know the date and reference so we can match it. If anything is in question, reply to this email and
we will sort it out with you.
""")
TABLE = _TEMPLATES.from_string("""\
{{ "%-14s %-12s %-10s %6s %14s" | format("Invoice", "Your PO", "Due", "Days", "Open") }}
{% for inv in invoices %}
{{ "%-14s %-12s %-10s %6d %14s" | format(inv.number, inv.po or "", inv.due_date or "", inv.days_past_due, inv.open) }}
{% endfor %}
""")
SIGN_OFF = "\nKind regards,\nAccounts Receivable\n"


class EmailWording(BaseModel):
    """What Claude may write: the subject and the message (no invoice table: we append it)."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=3, max_length=200, pattern=r"^[^\r\n]+$")
    message: str = Field(min_length=20, max_length=4000)


@dataclass(frozen=True)
class CollectionContext:
    """Everything a collection email may say, from the mirror."""

    customer_id: str
    company: str
    to_email: str | None
    to_name: str | None
    invoices: list[dict[str, Any]]  # number, po, due_date, days_past_due, bucket, amount_remaining, currency
    examples: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, float]:
        """The past-due total of each currency (US dollars as 'USD', first)."""
        return totals_by_currency((i["amount_remaining"], i.get("currency")) for i in self.invoices)


@dataclass(frozen=True)
class Draft:
    """A drafted email and how it was drafted."""

    subject: str
    body: str
    drafted_by: str  # 'template' | 'claude'
    model: str | None = None
    fallback_reason: str | None = None


def invoice_table(ctx: CollectionContext) -> str:
    """The fixed-width table of past-due invoices."""
    rows = [{**i, "open": money(i["amount_remaining"], i.get("currency"))} for i in ctx.invoices]
    return TABLE.render(invoices=rows)


def template_draft(ctx: CollectionContext, fallback_reason: str | None = None) -> Draft:
    """The Jinja2 draft (the default, and the fallback)."""
    count, total = len(ctx.invoices), amounts_text(ctx.totals)
    subject = SUBJECT.render(company=ctx.company, count=count, total=total)
    oldest = max((i["days_past_due"] for i in ctx.invoices), default=0)
    message = MESSAGE.render(greeting=ctx.to_name or f"{ctx.company} team", count=count, total=total,
                             oldest_days=oldest)
    return Draft(subject, _assemble(message, ctx), "template", fallback_reason=fallback_reason)


def _assemble(message: str, ctx: CollectionContext) -> str:
    return f"{message.rstrip()}\n\n{invoice_table(ctx)}{SIGN_OFF}"


def claude_request(ctx: CollectionContext, model: str) -> dict[str, Any]:
    """The Messages API request: facts as JSON, approved notes as guidance, one forced tool."""
    facts = {"customer": ctx.company, "recipient_name": ctx.to_name, "past_due_total": amounts_text(ctx.totals),
             "invoices": [{k: i.get(k) for k in ("number", "po", "due_date", "days_past_due")} for i in ctx.invoices]}
    notes = "\n".join(f"- {e}" for e in ctx.examples) or "- (none yet)"
    prompt = (f"Write a short, courteous collection email from Gulf Food Service accounts receivable. Facts:\n"
              f"{json.dumps(facts, indent=1)}\n\nNotes our team approved about this customer:\n{notes}\n\n"
              f"Do not include a table of invoices or a sign-off: we append both. Use {TOOL_NAME}.")
    schema = EmailWording.model_json_schema()
    return {"model": model, "max_tokens": 1024,
            "tools": [{"name": TOOL_NAME, "description": "Record the email's subject and message.",
                       "input_schema": schema}],
            "tool_choice": {"type": "tool", "name": TOOL_NAME},
            "messages": [{"role": "user", "content": prompt}]}


async def draft_collection_email(ctx: CollectionContext, client: Any, *,
                                 model: str, timeout: float = 30) -> Draft:
    """Draft with Claude when a client is given, else (or on any failure) with the template."""
    if client is None:
        return template_draft(ctx)
    try:
        msg = await create_message(client, claude_request(ctx, model), timeout)
    except ClaudeFailure as exc:
        return template_draft(ctx, exc.reason)
    block = tool_call(msg, TOOL_NAME)
    if block is None:
        return template_draft(ctx, f"no {TOOL_NAME} tool call in the response (stop_reason={msg.stop_reason})")
    try:
        wording = EmailWording.model_validate(block.input)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(map(str, e["loc"])) or "(root)" for e in exc.errors()}))
        return template_draft(ctx, f"model output failed validation: {fields}")
    return Draft(wording.subject.strip(), _assemble(wording.message, ctx), "claude", model=msg.model)


async def approved_examples(env: Env, customer_id: str, workflow: str) -> list[str]:
    """This customer's observations approved for reuse by this workflow, newest first."""
    rows = await env.db.fetchall(EXAMPLES, (customer_id, f'%"{workflow}"%', MAX_EXAMPLES))
    return [r[0] for r in rows]
