"""The route class every router uses, and the problem responses the docs show."""

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar

from fastapi import APIRouter, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from app.core.auth import CALLER_DEPENDENCIES, caller_of
from app.core.errors import (
    PROBLEM_JSON,
    PROBLEM_TYPE_BASE,
    PayloadTooLarge,
    UnsupportedMediaType,
    not_utf8_json,
)
from app.core.problem_codes import PROBLEM_CODES

JSON_BODY_METHODS = {"POST", "PUT", "PATCH"}
# The one place that says which answers carry personal data (NIKs, names, birth dates, claims)
# or a secret shown once (API keys): they are sent with `Cache-Control: no-store`.
NO_STORE_TAGS = frozenset({"coverage", "registrations", "rosters", "claims", "organizations"})


class AppRoute(APIRoute):
    """Knows the caller before reading a body, holds a JSON body to MAX_JSON_BYTES, refuses
    one sent as anything but (UTF-8) JSON, and says whether its answers may be stored."""

    express: ClassVar[bool] = False  # see app.core.express

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.no_store = not NO_STORE_TAGS.isdisjoint(str(tag) for tag in self.tags)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        caller_first = _needs_caller(self.dependant)

        async def checked(request: Request) -> Response:
            if caller_first:
                await caller_of(request)  # 401 (or 429) before a byte of the body is read
            if request.method in JSON_BODY_METHODS and not _is_json(request):
                raise UnsupportedMediaType("Send the body as application/json")
            request._body = await _json_body(request, request.app.state.settings.max_json_bytes)
            return await handler(request)

        return checked


def _needs_caller(dependant: Dependant) -> bool:
    return any(
        sub.call in CALLER_DEPENDENCIES or _needs_caller(sub) for sub in dependant.dependencies
    )


async def _json_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 from its Content-Length or as soon as it streams past
    `limit`, and with 422 when it is not UTF-8 (RFC 8259)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise not_utf8_json() from None
    return body


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"A JSON body may hold at most {limit} bytes (MAX_JSON_BYTES)")


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type")
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def api_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=AppRoute, **kwargs)


class ProblemItem(BaseModel):
    loc: list[str] = Field(default_factory=list)
    code: str
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine-readable `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(
        description="Stable and machine-readable: switch on it, not on `title` or `detail`",
        json_schema_extra={"enum": list(PROBLEM_CODES)},
    )
    errors: list[ProblemItem] | None = Field(
        default=None, description="For invalid input: each field at fault"
    )

    model_config = {"extra": "allow"}


# The sentence each problem status has in the docs, and the example problem document it shows.
PROBLEM_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, wrong or revoked API key",
    403: "The key lacks the scope, or its organization may not do this",
    404: "Not found (or not visible to this organization)",
    406: "No representation matches the Accept header",
    409: "Conflict with the current state, or the same Idempotency-Key still running",
    412: "Stale If-Match",
    413: "Body too large",
    415: "Unsupported content type",
    422: "Invalid input",
    428: "If-Match required",
    429: "Too many requests: wait `Retry-After` seconds",
    503: "Database unavailable: try again after `Retry-After` seconds",
}
# status -> (code, title, detail)
PROBLEM_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "Bad request", "The request cannot be read"),
    401: ("unauthorized", "Missing or invalid API key", "Send an API key as `Bearer <key>`"),
    403: ("missing_scope", "This key may not do that", "This key lacks agreements:write"),
    404: ("not_found", "Not found", "No such resource"),
    406: ("not_acceptable", "Not acceptable", "Send Accept: text/csv"),
    409: ("conflict", "Conflict", "The request conflicts with the current state"),
    412: ("precondition_failed", "The resource has changed", 'The current version is "4"'),
    413: ("payload_too_large", "Request body too large", "The body is over 1048576 bytes"),
    415: ("unsupported_media_type", "Unsupported content type", "Send application/json"),
    422: ("validation_error", "The request is not valid", "One or more fields are invalid"),
    428: ("precondition_required", "If-Match header required", 'Send If-Match: "4"'),
    429: ("rate_limited", "Too many requests", "Slow down: try again in 2 seconds"),
    503: ("database_unavailable", "The database is not reachable", "Try again shortly"),
}
VALIDATION_EXAMPLE = {
    "loc": ["body", "planned_headcount"],
    "code": "int_type",
    "msg": "Input should be a valid integer",
}


def problem_example(
    status: int, code: str | None = None, detail: str | None = None
) -> dict[str, Any]:
    default_code, title, default_detail = PROBLEM_EXAMPLES[status]
    code, detail = code or default_code, detail or default_detail
    example: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if status == 422:
        example["errors"] = [VALIDATION_EXAMPLE]
    return example


def problem_entry(status: int) -> dict[str, Any]:
    """The `responses=` entry of one problem status: problem+json, with an example."""
    content: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Problem"}}
    if status in PROBLEM_EXAMPLES:
        content["example"] = problem_example(status)
    return {
        "description": PROBLEM_DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_JSON: content},
    }


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the statuses a route's own rules answer; app.core.openapi adds
    the ones the shared machinery answers (401, 403, 404, 422, ...) from its dependencies."""
    return {status: problem_entry(status) for status in sorted(statuses)}
