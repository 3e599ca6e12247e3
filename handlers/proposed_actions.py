"""POST /api/proposed-actions (a chat tool or script proposes; a person decides) and GET, its JSON twin."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, QueryParameter
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from handlers.inbound_email import authorize
from handlers.responses import (
    BEARER,
    BEARER_OR_SESSION,
    BODY_TIMEOUT,
    UNAUTHORIZED,
    UNAVAILABLE,
    documented,
    header,
    int_query,
    json_body,
    json_schema,
    problems,
)
from handlers.review import queries as q
from handlers.review.approved import action_link
from handlers.review_api import CURSOR, READ_ERRORS, api_caller
from worker.deadletters import store_dead_letter
from worker.decisions import ONE_LINE, same_name_customers
from worker.env import Env, iso
from worker.flows.recipients import mail_address
from worker.ledger import append_event

log = logging.getLogger("worker.proposals")
EMAIL = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[A-Za-z0-9-]{2,}$"


def _one_address(value: str) -> str:
    # The pattern is pydantic's (Rust) regex, whose \s misses \x1c-\x1f, and it takes "josé@…": an address is also
    # one the drafts' own rule (mail_address) would send to, so the API and the workflows agree on what a sender gets.
    if mail_address(value) is None:
        raise ValueError("is not one email address a sender can use (ASCII before the @, no control characters)")
    return value


Email = Annotated[str, Field(max_length=254, pattern=EMAIL), AfterValidator(_one_address)]
PHONE = r"^[0-9+()\-. x]{7,32}$"
ActionStatus = Literal["", "staged", "approved", "rejected", "executed"]  # "": every status (as ReviewStatus)
IDEMPOTENCY_KEY_CHARS = 128


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(_Proposal):
    """A postal address in NetSuite's addressbook terms."""

    addr1: str = Field(min_length=1, max_length=150)
    addr2: str | None = Field(None, max_length=150)
    city: str = Field(min_length=1, max_length=50)
    state: str | None = Field(None, max_length=30)
    zip: str | None = Field(None, max_length=36)
    country: str = Field("US", pattern=r"^[A-Z]{2}$")


class ProposeCreateCustomer(_Proposal):
    """A new customer record for NetSuite (staged as `create_customer`)."""

    kind: Literal["propose_create_customer"]
    companyName: str = Field(min_length=1, max_length=83)
    email: Email | None = None
    phone: str | None = Field(None, pattern=PHONE)
    terms: str | None = Field(None, max_length=40, description="payment terms as named in NetSuite, e.g. Net 30")
    creditLimit: Decimal | None = Field(None, ge=0, le=100_000_000)
    address: Address | None = None
    note: str | None = Field(None, max_length=2000, description="why, for the reviewer")


class _ForCustomer(_Proposal):
    customer_id: str = Field(min_length=1, max_length=32, description="NetSuite internal id of the customer")


class ProposeCreditHold(_ForCustomer):
    """Hold service (new orders) for a customer (staged as `service_hold`)."""

    kind: Literal["propose_credit_hold"]
    reason: str = Field(min_length=3, max_length=2000)


class ProposeCollectionCall(_ForCustomer):
    """A call to make about overdue invoices (staged as `call_task`)."""

    kind: Literal["propose_collection_call"]
    note: str = Field(min_length=3, max_length=4000)
    phone: str | None = Field(None, pattern=PHONE)
    due_date: date | None = None


class ProposeCollectionEmail(_ForCustomer):
    """A drafted collection email (staged as `collection_email`)."""

    kind: Literal["propose_collection_email"]
    to: list[Email] = Field(min_length=1, max_length=10)
    subject: str = Field(min_length=1, max_length=200, pattern=ONE_LINE)  # a header once sent
    body: str = Field(min_length=1, max_length=20_000)
    invoices: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=50, description="NetSuite ids of the invoices the email asks to be paid: checked as owed now, "
                                         "and again when a reviewer approves")


class ProposePricingReview(_ForCustomer):
    """Ask for a look at an item's price for a customer (staged as `pricing_review`)."""

    kind: Literal["propose_pricing_review"]
    item_id: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=3, max_length=4000)
    quoted_price: Decimal | None = Field(None, ge=0)


Proposal = Annotated[ProposeCreateCustomer | ProposeCreditHold | ProposeCollectionCall | ProposeCollectionEmail
                     | ProposePricingReview, Field(discriminator="kind")]
PROPOSAL = TypeAdapter(Proposal)
STAGED_AS = {"propose_create_customer": ("create_customer", 2), "propose_credit_hold": ("service_hold", 3),
             "propose_collection_call": ("call_task", 1), "propose_collection_email": ("collection_email", 3),
             "propose_pricing_review": ("pricing_review", 2)}
INSERT_ACTION = """
INSERT INTO proposed_actions (kind, status, customer_id, payload_json, risk, source, dedupe_key, created_at,
                              updated_at)
VALUES (?, 'staged', ?, ?, ?, 'api', ?, ?, ?)
"""
BY_DEDUPE = "SELECT id FROM proposed_actions WHERE dedupe_key = ?"
# The digest of the request that staged an action is kept in its action.proposed event (NULL for actions
# staged before it was recorded: those keys keep answering as duplicates).
REQUEST_DIGEST = "SELECT json_extract(payload_json, '$.request_sha256') FROM events WHERE dedupe_key = ?"
LIVE_CUSTOMER = "SELECT 1 FROM customers WHERE ns_id = ? AND deleted_at IS NULL"
# The invoices a collection email names, as the mirror has them (a sub-cent remainder is paid, as in the aging).
NAMED_INVOICES = """
SELECT ns_id, tran_id, customer_id, round(amount_remaining, 2), deleted_at IS NOT NULL FROM customer_invoice
WHERE ns_id IN (SELECT value FROM json_each(?))
"""


def _describe(err: Any) -> dict[str, str]:
    loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and p.startswith("propose_")))
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        given = f"unknown kind {err['input'].get('kind')!r}; " if err["type"] == "union_tag_invalid" else "required; "
        return {"field": "kind", "message": given + "allowed: " + ", ".join(STAGED_AS)}
    return {"field": loc or "body", "message": str(err["msg"]).removeprefix("Value error, ")}


def reason_of(errors: list[dict[str, str]]) -> str:
    """Every field and reason, as one line (the 422's detail and the dead letter's reason)."""
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors)


def unprocessable(errors: list[dict[str, str]], status_code: int = 422, **extra: object) -> HTTPException:
    """A 422 (409 for a reused Idempotency-Key) whose detail names every field and reason."""
    prefix = "conflicting proposal: " if status_code == 409 else "invalid proposal: "
    return HTTPException(detail=prefix + reason_of(errors), status_code=status_code, extra={"errors": errors, **extra})


class Refused(Exception):
    """A well-formed proposal that cannot be staged as asked (raised in the write transaction, which rolls back)."""

    def __init__(self, errors: list[dict[str, str]], status_code: int = 422) -> None:
        super().__init__(reason_of(errors))
        self.errors, self.status_code = errors, status_code


def key_errors(key: str | None) -> list[dict[str, str]]:
    """What is wrong with an Idempotency-Key header (nothing when it is absent)."""
    if key is None or 1 <= len(key) <= IDEMPOTENCY_KEY_CHARS:
        return []
    return [{"field": "Idempotency-Key", "message": f"must be 1 to {IDEMPOTENCY_KEY_CHARS} characters, got {len(key)}"}]


def request_digest(proposal: Any) -> str:
    """SHA-256 of the proposal as validated, so key order, spacing and spelled-out defaults do not change it."""
    canonical = json.dumps(proposal.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stage(conn: sqlite3.Connection, proposal: Any, key: str | None, digest: str, now: str) -> tuple[int, bool]:
    """Stage the proposal (source 'api') with a ledger event; returns (action id, created).

    A key seen before answers with its action when the request is the same (a retry), and is refused
    when it is not: the second proposal would otherwise be reported as a duplicate and lost.
    """
    dedupe_key = f"api:{key}" if key else None
    if dedupe_key and (same := conn.execute(BY_DEDUPE, (dedupe_key,)).fetchone()) is not None:
        action_id = int(same[0])
        earlier = conn.execute(REQUEST_DIGEST, (f"action.proposed:{action_id}",)).fetchone()
        if earlier is not None and earlier[0] not in (None, digest):
            raise Refused([{"field": "Idempotency-Key", "message": f"{key!r} was already used for proposed action "
                            f"{action_id} with a different request body; send a new key for a new proposal"}], 409)
        return action_id, False
    kind, risk = STAGED_AS[proposal.kind]
    customer_id = getattr(proposal, "customer_id", None)
    if customer_id and conn.execute(LIVE_CUSTOMER, (customer_id,)).fetchone() is None:
        raise Refused([{"field": "customer_id", "message": f"no customer with ns_id {customer_id!r} in the mirror"}])
    payload = proposal.model_dump(mode="json", exclude={"kind", "customer_id"}, exclude_none=True)
    if kind == "collection_email" and proposal.invoices:
        payload["invoices"] = owed_invoices(conn, customer_id, proposal.invoices)
    # Checked again when a reviewer approves it (worker/decisions.py), with other approved new customers too.
    if kind == "create_customer" and (same := same_name_customers(conn, proposal.companyName)):
        payload["possible_duplicate_of"] = same
    cursor = conn.execute(INSERT_ACTION, (kind, customer_id, json.dumps(payload), risk, dedupe_key, now, now))
    action_id = int(cursor.lastrowid or 0)
    append_event(conn, "action.proposed", "proposed_action", str(action_id),
                 {"kind": kind, "customer_id": customer_id, "source": "api", "request_sha256": digest},
                 dedupe_key=f"action.proposed:{action_id}", created_at=now)
    return action_id, True


def owed_invoices(conn: sqlite3.Connection, customer_id: str, ids: list[str]) -> list[dict[str, Any]]:
    """The named invoices as the email's payload names them (id, number, amount remaining), the way the collection
    plan names its own, so approval checks them again (worker/stale_plans.py); Refused naming each one not owed."""
    found = {row[0]: row[1:] for row in conn.execute(NAMED_INVOICES, (json.dumps(ids),))}
    named: dict[str, dict[str, Any]] = {}
    errors = []
    for at, invoice_id in enumerate(ids):
        if invoice_id in named:
            continue  # named twice: once is enough
        if invoice_id not in found:
            errors.append({"field": f"invoices.{at}", "message": f"invoice {invoice_id} is not in the mirror"})
            continue
        number, owner, remaining, deleted = found[invoice_id]
        problem = ("was deleted in NetSuite" if deleted else
                   f"belongs to customer {owner}, not {customer_id}" if owner != customer_id else
                   "has no known amount remaining (NetSuite sent none)" if remaining is None else
                   "is paid or closed (nothing remaining)" if remaining <= 0 else None)
        if problem:
            errors.append({"field": f"invoices.{at}", "message": f"invoice {invoice_id} {problem}"})
        named[invoice_id] = {"invoice_id": invoice_id, "number": number or invoice_id, "amount_remaining": remaining}
    if errors:
        raise Refused(errors)
    return list(named.values())


STAGED = ("staged: id, kind, status, duplicate (false) and review_url, a lasting link for a signed-in reviewer to the "
          "action's card (/review/actions/{id}, which redirects to its card in its status's list as it is then, "
          "staged, approved, rejected or executed)")
PROPOSE_RESPONSES = {
    200: ResponseSpec(data_container=dict[str, Any], generate_examples=False,
                      description="a retry (Idempotency-Key seen with the same body): the action it staged, as the 201 "
                                  "describes, status as it is now, duplicate (true)"),
    **problems({401: UNAUTHORIZED,
                408: BODY_TIMEOUT,
                409: "the Idempotency-Key was used before with a different body (kept as a dead letter)",
                413: "the body is over limits.api_body_bytes",
                422: "the proposal is not valid or cannot be staged: errors names each field (kept: dead_letter_id)",
                503: UNAVAILABLE}),
}


# The handler reads the body itself (the size limit's 413, and every refused body kept as a dead letter), so the
# body and the Idempotency-Key header are documented here rather than inferred from its signature.
PROPOSE_OPERATION = documented(
    body=json_body(json_schema(Proposal), "one proposal; `kind` says which (unknown fields are refused)"),
    headers=[header("Idempotency-Key", "dedupes retries: the same key and body answer 200 with the action staged "
                    "first; the same key with another body is a 409; empty or too long is a 422",
                    min_length=1, max_length=IDEMPOTENCY_KEY_CHARS)])


@post("/api/proposed-actions", summary="Propose an action for human review", tags=["review"], status_code=201,
      response_description=STAGED, responses=PROPOSE_RESPONSES, security=BEARER, operation_class=PROPOSE_OPERATION)
async def propose(request: Request[Any, Any, Any], env: NamedDependency[Env]) -> Response[dict[str, Any]]:
    """Bearer INTAKE_TOKEN; body: one proposal (discriminated on `kind`); an Idempotency-Key header dedupes
    (the same key with a different body is a 409)."""
    authorize(request, env, "proposing actions")  # as POST /api/inbound-email: 503 when INTAKE_TOKEN is not set
    try:
        body = await request.body()
    except RequestEntityTooLarge:  # the app-wide limit (Litestar's own 413 does not say which)
        limit = env.settings.limits.api_body_bytes
        raise RequestEntityTooLarge(detail=f"body exceeds the limit of {limit} bytes (limits.api_body_bytes)") from None
    key = request.headers.get("idempotency-key")
    errors = key_errors(key)
    try:
        proposal = PROPOSAL.validate_json(body)
    except ValidationError as exc:
        errors += [_describe(e) for e in exc.errors()]
    try:
        if errors:
            raise Refused(errors)
        action_id, created = await env.db.write(stage, proposal, key, request_digest(proposal), iso(env.clock()))
    except Refused as exc:
        # Nothing is lost: every refused body is kept (audit only; the caller re-sends a corrected one).
        letter = await env.db.write(store_dead_letter, "proposed-actions", reason_of(exc.errors), body,
                                    iso(env.clock()), {"Idempotency-Key": key} if key is not None else None)
        log.info("proposal rejected", extra={"errors": exc.errors, "dead_letter_id": letter})
        raise unprocessable(exc.errors, exc.status_code, dead_letter_id=letter) from None
    row = await env.db.fetchone("SELECT id, kind, status FROM proposed_actions WHERE id = ?", (action_id,))
    body_out = {"id": action_id, "kind": row["kind"], "status": row["status"], "duplicate": not created,
                "review_url": action_link(action_id)}  # kept by the caller: lasting, whatever becomes of the action
    return Response(body_out, status_code=201 if created else 200)


# Kinds are open: the workflows stage their own (send_collection_email, log_dispute...) and more come with new ones,
# so `kind` is any text, named by example; an unknown kind is an empty page, not a 400.
KIND = QueryParameter(description="empty: every kind; e.g. the kinds POST stages: " + ", ".join(
    sorted({staged for staged, _ in STAGED_AS.values()})) + ", or a workflow's (any text: an unknown kind has none)")


@get("/api/proposed-actions", summary="Proposed actions", tags=["review"], responses=READ_ERRORS,
     security=BEARER_OR_SESSION)
async def list_proposed_actions(
    request: Request[Any, Any, Any], env: NamedDependency[Env],
    status: Annotated[ActionStatus, QueryParameter(description="empty: every status")] = "",
    kind: Annotated[str, KIND] = "", customer_id: FromQuery[str] = "",
    limit: Annotated[int, int_query(1, 200)] = 50,
    cursor: Annotated[int, CURSOR] = 0,
) -> dict[str, Any]:
    """Newest first; filter by status, kind and customer_id; bearer INTAKE_TOKEN or a review session."""
    await api_caller(request, env)
    params = {"status": status, "kinds": json.dumps([kind[:64]] if kind else []), "customer": customer_id[:32],
              "cursor": cursor, "limit": limit}
    page = await q.rows(env, q.ACTIONS, params)
    for row in page:
        row["payload"] = json.loads(row.pop("payload_json") or "{}")
    return {"items": page, "next_cursor": q.next_cursor(page, limit)}
