"""Collection emails: a Jinja2 template by default, Claude when ANTHROPIC_API_KEY is set.

Claude writes only the wording (subject and message, through one forced tool call), guided by the
customer's approved reflexion observations; the table of open invoices is always rendered by us from
the mirror. So that amounts and numbers in the email are never a model's, its wording may hold no figure
(digits, or a number spelled out) that is not one of the computed facts as we spell them, and no threat
of a hold, suspension, fee or legal step (those are proposed separately, for a reviewer), and no deadline to
pay by (the facts hold none): such wording is refused. Any API error, unusable or refused output falls back
to the template, and the draft records why.
Each invoice is shown in its own currency and the total is per currency ("$10,000.00 and EUR 20,000.00"):
amounts in two currencies are never added up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, StrictUndefined
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.claude import ClaudeFailure, create_message, tool_call
from worker.decisions import ONE_LINE
from worker.env import Env
from worker.flows.recipients import one_line
from worker.pricing import amounts_text, listed, money, totals_by_currency

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
    subject: str = Field(min_length=3, max_length=200, pattern=ONE_LINE)
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
    subject = SUBJECT.render(company=one_line(ctx.company), count=count, total=total)  # a header once sent
    oldest = max((i["days_past_due"] for i in ctx.invoices), default=0)
    message = MESSAGE.render(greeting=ctx.to_name or f"{ctx.company} team", count=count, total=total,
                             oldest_days=oldest)
    return Draft(subject, _assemble(message, ctx), "template", fallback_reason=fallback_reason)


def _assemble(message: str, ctx: CollectionContext) -> str:
    return f"{message.rstrip()}\n\n{invoice_table(ctx)}{SIGN_OFF}"


def claude_request(ctx: CollectionContext, model: str) -> dict[str, Any]:
    """The Messages API request: facts as JSON, approved notes as guidance, one forced tool."""
    facts = {"customer": ctx.company, "recipient_name": ctx.to_name, "past_due_total": amounts_text(ctx.totals),
             "invoice_count": len(ctx.invoices),
             "invoices": [{k: i.get(k) for k in ("number", "po", "due_date", "days_past_due")} for i in ctx.invoices]}
    notes = "\n".join(f"- {e}" for e in ctx.examples) or "- (none yet)"
    prompt = (f"Write a short, courteous collection email from Gulf Food Service accounts receivable. Facts:\n"
              f"{json.dumps(facts, indent=1)}\n\nNotes our team approved about this customer:\n{notes}\n\n"
              f"Do not include a table of invoices or a sign-off: we append both. Write no number, amount or date that "
              f"is not in the facts, and copy those exactly as given; set no deadline or date to pay by (not \"by "
              f"Friday\", \"this week\" or \"before the end of the month\": we have set none); do not mention holds, "
              f"suspension, fees or legal steps (a reviewer decides those separately). A draft that does any of these "
              f"is discarded. Use {TOOL_NAME}.")
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
    if (refused := refusal(f"{wording.subject}\n{wording.message}", ctx)) is not None:
        return template_draft(ctx, refused)
    return Draft(wording.subject.strip(), _assemble(wording.message, ctx), "claude", model=msg.model)


# What the model's wording may not say unchecked. Figures: a whitespace-delimited chunk holding a digit, and numbers
# spelled out. "one" is a number only before what it would count ("one invoice"), not in "one consolidated note".
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
_TENS = ("thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million",
         "billion", "dozen")
_SPELLED = re.compile(rf"\b(?:{'|'.join(_NUMBER_WORDS + _TENS)})\b", re.IGNORECASE)
_COUNTED = re.compile(r"\W+(?:invoices?|bills?|days?|weeks?|months?|years?|payments?|dollars?|cents?)\b", re.IGNORECASE)
_INVOICES_NEXT = re.compile(r"(?:[\s-]+[\w-]+){0,2}?[\s-]+invoices?\b", re.IGNORECASE)  # "two past-due invoices"
_DAYS_NEXT = re.compile(r"[\s-]+days?\b", re.IGNORECASE)
_CHUNK_EDGES = "()[]{}<>\"'.,;:!?*"
# Steps a reviewer approves on their own (the plan's service_hold proposal) or that nobody has planned at all.
_CLAIMS = re.compile(r"\b(?:suspend\w*|suspension|on (?:credit |service )?hold|(?:credit|service|account|shipping|delivery|"
                     r"order) holds?|stop (?:shipping|shipments|deliver\w*|service|orders)|cut off|legal action|"
                     r"attorneys?|lawyers?|lawsuit|court|collection agenc\w*|collections agenc\w*|late fees?|"
                     r"interest charges?|penalt\w*|terminat\w*|credit bureaus?|credit report\w*)\b", re.IGNORECASE)

# Deadlines nobody set: the facts hold due dates past, never a time to pay by (a digit date is a figure already).
# A time phrase is a deadline only when the same sentence asks for payment before it ("please settle these by the
# end of November"): alone it sets none ("our office is closed until Monday", "the weeks before the end of the
# year"), nor in words about the past or about us between the request and it ("the payment was due before the end
# of the quarter", "thank you for settling it before...", "about the payment, our team is available until COB").
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_MONTH = r"(?:january|february|march|april|may|june|july|august|september|october|november|december)"
_HOLIDAY = (r"(?:christmas(?: eve)?|xmas|new year(?:'s)?(?: day| eve)?|thanksgiving|easter|the holidays|"
            r"labou?r day|memorial day|independence day)")
_BY = r"(?:by|before|on|until|till|through|no later than|ahead of|at|in)"
_WHEN = re.compile(
    rf"(?<!as of )\b(?:{_BY}\s+)?(?:(?:the\s+)?(?:end|close)\s+of\s+(?:the\s+|this\s+|next\s+)?(?:business(?:\s+day)?"
    rf"|day|week|month|quarter|year|{_MONTH})|(?:the\s+)?(?:week|month|quarter|year)[- ]end|cob|eod|eow|eom"
    rf"|(?:this|next|the\s+coming)\s+(?:week(?:end)?|month|quarter|{_WEEKDAY})|today|tonight|tomorrow)"
    rf"(?:\s+(?:today|tonight|tomorrow|on\s+{_WEEKDAY}))?\b"  # "by end of business today", "by COB on Friday"
    rf"|\b{_BY}\s+(?:the\s+)?(?:(?:early|mid|late)[- ])?(?:{_WEEKDAY}|{_MONTH}|{_HOLIDAY}|weekend)\b"
    rf"|\b(?:within|in|over)\s+(?:the\s+(?:next|coming)\s+(?:few\s+)?|a\s+few\s+|the\s+|a\s+|this\s+)"
    rf"(?:days?|weeks?|months?|fortnight)\b", re.IGNORECASE)
# A request to pay ("arrange payment", "send it"): not "arrange" alone, which arranges calls as well.
_PAY = re.compile(r"\b(?:pay(?:s|ing|ment|ments|able)?|paid|settl\w*|remit\w*|send|sending|transfer\w*|wire|"
                  r"clear(?:ed|ing)?|funds)\b", re.IGNORECASE)
_NOT_ASKED = re.compile(r"\b(?:was|were|had|did|thanks?(?! in advance)|thank you(?! in advance)|(?:we|you|they) "
                        r"(?:received|got|sent|paid|settled|remitted|made)|(?:we|we're|we'll|i|i'm|i'll|our (?:\w+ )?"
                        r"(?:office|team|staff|department)) (?:(?:is|are|am|will be|be|remain|remains|stays?) )?"
                        r"(?:closed|open|away|out|off|available|reachable|back|on (?:leave|holiday|vacation)))\b",
                        re.IGNORECASE)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|[;\n]")


def _mask(text: str, phrases: Iterable[str]) -> str:
    """text with each occurrence of the phrases (longest first, any case) blanked, where it stands on its own:
    not inside a longer word or number ('$2,300.00' in '$2,300.005', 'INV-1' in 'INV-10' are left)."""
    for phrase in sorted({p.strip() for p in phrases if p and p.strip()}, key=len, reverse=True):
        pattern = re.compile(rf"(?<![^\W_])(?<!\d[.,-]){re.escape(phrase)}(?![^\W_])(?![.,-]\d)", re.IGNORECASE)
        text = pattern.sub(" ", text)
    return text


def _names(ctx: CollectionContext) -> list[str]:
    """The customer's and recipient's names, and each run of two or more of their words ('Route 66'); a single word
    only when it is no number ('7-Eleven', 'Diner', but not '66' or 'Seven'), which alone would be a figure."""
    names = []
    for name in filter(None, (ctx.company, ctx.to_name)):
        words = name.split()
        names += [" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 2, len(words) + 1)]
        names += [w for w in words if any(c.isalpha() for c in w) and not _SPELLED.fullmatch(w.strip(_CHUNK_EDGES))]
    return names


def _verbatim_facts(ctx: CollectionContext) -> list[str]:
    """The facts allowed anywhere, as we spell them: names, amounts, invoice and PO numbers, due dates."""
    amounts = [money(amount, name) for name, amount in ctx.totals.items()]
    amounts += [money(i["amount_remaining"], i.get("currency")) for i in ctx.invoices]
    ids = [str(i.get(k) or "") for i in ctx.invoices for k in ("number", "po", "due_date")]
    return [*_names(ctx), amounts_text(ctx.totals), *amounts, *ids]


def unsupported_figures(text: str, ctx: CollectionContext) -> list[str]:
    """The figures in text that are not computed facts (pure), in order, each once: amounts, numbers and spelled-out
    numbers other than the facts as we spell them, the day counts before 'days', and the invoice count before
    'invoices'. A number in the customer's or recipient's name ('Route 66 Diner', '7-Eleven') is part of the name."""
    rest = _mask(text, _verbatim_facts(ctx))
    days = {str(i["days_past_due"]) for i in ctx.invoices if i.get("days_past_due") is not None}
    count = len(ctx.invoices)
    counts = {str(count), *([_NUMBER_WORDS[count]] if count < len(_NUMBER_WORDS) else [])}
    found: list[str] = []
    for chunk in re.finditer(r"\S+", rest):
        token = chunk.group().strip(_CHUNK_EDGES)
        after = rest[chunk.start() + len(chunk.group().rstrip(_CHUNK_EDGES)):]
        if not any(c.isdigit() for c in token):
            continue
        number, _, unit = token.partition("-")
        if (number in days and (_DAYS_NEXT.match(after) or unit.lower() in ("day", "days"))) or (
                token in counts and _INVOICES_NEXT.match(after)):
            continue
        found.append(token)
    for word in _SPELLED.finditer(rest):
        spelled, after = word.group().lower(), rest[word.end():]
        if spelled == "one" and not _COUNTED.match(after):
            continue
        if spelled in counts and _INVOICES_NEXT.match(after):
            continue
        found.append(word.group())
    return list(dict.fromkeys(found))


def unapproved_claims(text: str, ctx: CollectionContext) -> list[str]:
    """The threats of a hold, suspension, fee or legal step in text (pure), each once: no reviewer has approved one
    when the email is drafted (a service hold is its own proposal). Words in the customer's name are not claims."""
    return list(dict.fromkeys(m.group() for m in _CLAIMS.finditer(_mask(text, _names(ctx)))))


def unset_deadlines(text: str, ctx: CollectionContext) -> list[str]:
    """The deadlines to pay by in text (pure), each once ('by Friday', 'before the end of the month'): the facts
    have none, and a reviewer reading a draft would take one for the company's decision. Names are not claims."""
    found = []
    for sentence in _SENTENCES.split(_mask(text, _names(ctx))):
        for when in _WHEN.finditer(sentence):
            asked = list(_PAY.finditer(sentence, 0, when.start()))
            if not asked:
                continue
            # the request as said: from the last request to pay (and its own clause's opening) to the time phrase
            said = sentence[sentence.rfind(",", 0, asked[-1].start()) + 1:when.start()]
            if not _NOT_ASKED.search(said):
                found.append(when.group())
    return list(dict.fromkeys(found))


def refusal(text: str, ctx: CollectionContext) -> str | None:
    """Why the model's wording may not be sent (pure), or None when every figure and claim in it is supported."""
    figures, claims, deadlines = unsupported_figures(text, ctx), unapproved_claims(text, ctx), unset_deadlines(text, ctx)
    why = ([f"named {listed(figures)}, not among the computed facts"] if figures else []) + (
        [f"said {listed([repr(c) for c in claims])}, a step only a reviewer decides"] if claims else []) + (
        [f"gave a deadline no one set ({listed([repr(d) for d in deadlines])})"] if deadlines else [])
    return f"Claude's draft {', and '.join(why)}: the template was used" if why else None


async def approved_examples(env: Env, customer_id: str, workflow: str) -> list[str]:
    """This customer's observations approved for reuse by this workflow, newest first."""
    rows = await env.db.fetchall(EXAMPLES, (customer_id, f'%"{workflow}"%', MAX_EXAMPLES))
    return [r[0] for r in rows]
