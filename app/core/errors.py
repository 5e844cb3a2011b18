"""Domain errors and their rendering as RFC 9457 problem+json."""

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("perisai.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://perisai.id/problems/"
BEARER_CHALLENGE = 'Bearer realm="perisai"'


class AppError(Exception):
    """An error the client can act on: a status, a stable code and a sentence."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        self.errors = list(errors) if errors else None
        self.headers = dict(headers) if headers else None
        self.extra = extra
        super().__init__(self.detail)


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Missing or invalid API key"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        # RFC 6750: a 401 names the scheme it wants.
        self.headers = {"WWW-Authenticate": BEARER_CHALLENGE, **(self.headers or {})}


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "This key may not do that"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(AppError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class NotAcceptable(AppError):
    status, code, title = 406, "not_acceptable", "No representation matches the Accept header"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidState(Conflict):
    code, title = "invalid_state", "Not allowed in the current state"


class PreconditionFailed(AppError):
    status, code, title = 412, "precondition_failed", "The resource has changed (stale If-Match)"


class PayloadTooLarge(AppError):
    status, code, title = 413, "payload_too_large", "Request body too large"


class UnsupportedMediaType(AppError):
    status, code, title = 415, "unsupported_media_type", "Unsupported content type"


class Unprocessable(AppError):
    status, code, title = 422, "unprocessable", "The request cannot be processed"


class PreconditionRequired(AppError):
    status, code, title = 428, "precondition_required", "If-Match header required"


class TooManyRequests(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"


class ServiceUnavailable(AppError):
    status, code, title = 503, "database_unavailable", "The database is not reachable"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        super().__init__(detail, **kwargs)


# A restarting database answers again within seconds.
RETRY_AFTER_SECONDS = 2


def invalid_field(code: str, detail: str, loc: Sequence[str | int]) -> NoReturn:
    """Raise 422 `code` naming the one field at fault, as FastAPI's validation errors do."""
    raise Unprocessable(
        detail,
        code=code,
        errors=[{"loc": [str(part) for part in loc], "code": code, "msg": detail}],
    )


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: Sequence[Mapping[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return Response(
        orjson.dumps(body, default=str),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers) if headers else None,
    )


def render(error: AppError) -> Response:
    return problem_response(
        error.status,
        error.code,
        error.title,
        error.detail,
        errors=error.errors,
        headers=error.headers,
        extra=error.extra,
    )


def _validation_items(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(part) for part in item.get("loc", ())],
            "code": item.get("type", "invalid"),
            "msg": item.get("msg", "invalid value"),
        }
        for item in exc.errors()
    ]


_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Missing or invalid API key"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported content type"),
    429: ("rate_limited", "Too many requests"),
}


# The database going or not there yet: shut down by an operator or a crash (57P01, 57P02),
# starting up, in recovery or shutting down (57P03), out of connection slots (53300).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
LOST_CONNECTION = (
    OSError,  # refused, reset, or the socket file gone
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,  # a connection closed under us
    # A connection left mid-operation when the server went ("unexpected state").
    asyncpg.exceptions.InternalClientError,
    OperationalError,
    InterfaceError,
    PoolTimeout,  # every connection of the pool is waiting for the database
)


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) means the database is away, not that a request is bad:
    the one rule for a 503 `database_unavailable`."""
    seen: BaseException | None = exc
    for _ in range(5):  # SQLAlchemy's error, its DBAPI adapter's, asyncpg's
        if seen is None:
            return False
        if isinstance(seen, LOST_CONNECTION):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate in UNAVAILABLE_SQLSTATES or sqlstate.startswith("08")
        ):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def constraint_of(exc: BaseException) -> str | None:
    """The name of the constraint a database error is about (asyncpg's, under SQLAlchemy's)."""
    orig = getattr(exc, "orig", exc)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        name = getattr(candidate, "constraint_name", None)
        if isinstance(name, str) and name:
            return name
    return None


# Constraint name -> the error it means, as each domain's exceptions.py declares them.
ConstraintErrors = Mapping[str, AppError]


def translate_integrity_error(exc: IntegrityError, known: ConstraintErrors) -> AppError:
    """The error a refused write means: the one `known` names for its constraint, else one by
    the kind of refusal (unique, exclusion, foreign key, check)."""
    constraint = constraint_of(exc)
    if constraint and constraint in known:
        return known[constraint]
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
        getattr(exc.orig, "__cause__", None), "sqlstate", None
    )
    if sqlstate == "23505":
        return Conflict("A resource with these values already exists", code="duplicate")
    if sqlstate == "23P01":
        return Conflict("Overlaps an existing record", code="overlap")
    if sqlstate == "23503":
        return Unprocessable("A referenced resource does not exist", code="reference_not_found")
    return Unprocessable("The values break a rule of the data", code="constraint_violated")


# character_not_in_repertoire (a NUL in text) and untranslatable_character (\u0000 in jsonb).
TEXT_SQLSTATES = frozenset({"22021", "22P05"})


def sqlstate_of(exc: BaseException) -> str | None:
    """The PostgreSQL error code of a SQLAlchemy-wrapped asyncpg error (or a bare one)."""
    for candidate in (exc, getattr(exc, "orig", None)):
        sqlstate = getattr(candidate, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
    return None


def is_data_exception(sqlstate: str | None) -> bool:
    """Class 22: PostgreSQL refused a value itself (bad text, out of range, malformed)."""
    return sqlstate is not None and sqlstate.startswith("22")


def refused_value(sqlstate: str | None) -> Unprocessable:
    if sqlstate in TEXT_SQLSTATES:
        return Unprocessable(
            "A text value holds a character that cannot be stored (such as a NUL byte)",
            code="invalid_text",
        )
    return Unprocessable("A value is out of range or malformed", code="invalid_value")


def not_utf8_json() -> RequestValidationError:
    """A JSON body that is not UTF-8 (RFC 8259): 422 like every other bad body."""
    message = "The body is not UTF-8 encoded JSON"
    return RequestValidationError(
        [{"type": "json_invalid", "loc": ("body",), "msg": message, "input": None}]
    )


def install_error_handlers(app: FastAPI, constraint_errors: ConstraintErrors) -> None:
    """Render every error as problem+json; `constraint_errors` translate the IntegrityErrors
    that no service translated itself."""

    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> Response:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        return problem_response(
            422,
            "validation_error",
            "The request is not valid",
            "One or more fields are missing or invalid",
            errors=_validation_items(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's answer to a body it could not decode: a route that is not an AppRoute.
            return await validation_error(request, not_utf8_json())
        code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(
            exc.status_code, code, title, detail, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(DataError)
    async def data_error(_: Request, exc: DataError) -> Response:
        return render(refused_value(sqlstate_of(exc)))

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> Response:
        return render(translate_integrity_error(exc, constraint_errors))

    async def database_error(_: Request, exc: Exception) -> Response:
        if is_database_unavailable(exc):
            logger.warning("database unavailable: %s", type(exc).__name__)
            return render(ServiceUnavailable("The database is not reachable; try again shortly"))
        # asyncpg's data exceptions reach SQLAlchemy as a plain DBAPIError, not a DataError.
        sqlstate = sqlstate_of(exc)
        if is_data_exception(sqlstate):
            # The code only: the message may quote the value (a name, a NIK).
            logger.warning("value refused by the database: sqlstate %s", sqlstate)
            return render(refused_value(sqlstate))
        return internal_error(exc)

    for error_class in CONNECTION_ERRORS:
        app.add_exception_handler(error_class, database_error)

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> Response:
        return internal_error(exc)


CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    DBAPIError,
    OSError,
    PoolTimeout,
    asyncpg.exceptions.PostgresError,  # raised bare when a connection is refused (57P03)
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


def internal_error(exc: Exception) -> Response:
    # The exception's message may quote request values (a NIK, a name): log only where it happened.
    where = "".join(traceback.format_tb(exc.__traceback__)[-5:])
    logger.error("unexpected error %s\n%s", type(exc).__name__, where)
    return problem_response(500, "internal_error", "Internal error", "An unexpected error occurred")
