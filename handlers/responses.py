"""What routes declare in /schema/openapi.json beyond what Litestar infers from their signatures.

Litestar documents only a route's success status (and a 400 when it has parameters); the errors our handlers
and worker/problems.py answer are named here once, as problem details, and picked per route (`responses=`).
Routes that read their own body and headers (size limits and signatures come before parsing) document them
through `operation_class=documented(...)`; the security schemes are the app's (worker/app.py OpenAPIConfig).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.params import QueryParameter
from pydantic import TypeAdapter

from worker.auth import COOKIE
from worker.problems import PROBLEM_JSON


@dataclass
class Problem:
    """RFC 9457 problem details; some answers add members (`errors`, `dead_letter_id`), named per status."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None


BAD_REQUEST = "a query or path parameter is not valid (the detail names it)"
UNAUTHORIZED = "no valid bearer INTAKE_TOKEN (or review session, where one is accepted)"
UNAVAILABLE = "a dependency is down (the database, the bucket or disk, or a secret not configured); Retry-After"
BODY_TIMEOUT = "the body stopped arriving for limits.body_idle_seconds, or came slower than body_min_bytes_per_second"


def problems(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """{status: why} as problem-details responses for a route's `responses=`."""
    return {status: ResponseSpec(data_container=Problem, description=why, media_type=PROBLEM_JSON,
                                 generate_examples=False) for status, why in described.items()}


SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": SecurityScheme(type="http", scheme="bearer", description="Authorization: Bearer <INTAKE_TOKEN>"),
    "reviewSession": SecurityScheme(type="apiKey", security_scheme_in="cookie", name=COOKIE,
                                    description="a signed-in reviewer's session (sign in at /review)"),
}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
BEARER_OR_SESSION: list[dict[str, list[str]]] = [{"bearer": []}, {"reviewSession": []}]


def int_query(ge: int, le: int, **kwargs: Any) -> Any:
    """A query parameter validated to ge..le, its bounds documented as those exact integers (Litestar writes ge/le
    as floats: 2**63 - 1 became 9.223372036854776e+18, one more than the server takes)."""
    return QueryParameter(ge=ge, le=le, schema_extra={"minimum": ge, "maximum": le}, **kwargs)


def header(name: str, description: str, *, required: bool = False, **schema: Any) -> Parameter:
    """A header a handler reads itself, as a documented parameter (`schema`: Schema fields, e.g. max_length)."""
    return Parameter(name=name, param_in="header", required=required, description=description,
                     schema=Schema(type=OpenAPIType.STRING, **schema))


def json_schema(annotation: Any) -> dict[str, Any]:
    """A pydantic type's JSON Schema (what validation accepts) with its $defs written in place: Litestar replaces
    components/schemas with its own, so a body's schema must hold its definitions (ours are not recursive)."""
    schema = TypeAdapter(annotation).json_schema()
    defs = schema.pop("$defs", {})
    schema.pop("discriminator", None)  # its mapping names the $defs; each branch's `kind` const says as much

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            node = {**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
        return {key: inline(value) for key, value in node.items()}

    return inline(schema)  # type: ignore[no-any-return]


def json_body(schema: dict[str, Any], description: str) -> RequestBody:
    """A required application/json body described by a JSON Schema (an OpenAPI 3.1 Schema Object is one)."""
    media = OpenAPIMediaType(schema=schema)  # type: ignore[arg-type]  # written out as is
    return RequestBody(required=True, description=description, content={"application/json": media})


def documented(body: RequestBody | None = None, headers: Sequence[Parameter] = ()) -> type[Operation]:
    """An operation class (Litestar's `operation_class=`) adding the request body and header parameters of a
    handler that reads them itself, which Litestar cannot see in its signature."""

    @dataclass
    class Documented(Operation):
        def __post_init__(self) -> None:
            self.request_body = body
            self.parameters = [*(self.parameters or []), *headers] or None

    return Documented
