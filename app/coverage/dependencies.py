"""How a coverage read finds its caller and arguments, cheaply: it is the hottest path."""

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import TypeAdapter, ValidationError

from app.core.auth import Principal, authenticate, bearer
from app.core.errors import Forbidden
from app.core.routing import AppRoute

SCOPE = "coverage:read"
_DATE = TypeAdapter(date)


async def coverage_reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """`require("coverage:read")` without the request's session, with the same answers.

    `authenticate` serves a verified key from its in-process cache and touches the session
    only on a miss; the session is built here (a few microseconds) and closed only if used,
    where `SessionDep` would open, commit and close one around every coverage read.
    """
    session = request.app.state.sessionmaker()
    try:
        principal = await authenticate(request, session, credentials)
    finally:
        if session.in_transaction():
            await session.close()
    if not principal.has(SCOPE):
        raise Forbidden(f"This key lacks the scope {SCOPE}", code="missing_scope")
    return principal


CoverageReader = Annotated[Principal, Depends(coverage_reader)]


def query_date(request: Request, name: str) -> date | None:
    """An optional date query parameter, refused as FastAPI would (422 validation_error)."""
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return _DATE.validate_python(text)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", name, *error["loc"])} for error in exc.errors()]
        ) from None


class LookupRoute(AppRoute):
    """The route class of `GET /v1/coverage/{nik}`.

    Declared like any route (its parameters, docs and errors come from the endpoint's
    signature), but each request calls the endpoint with arguments resolved by the few lines
    below instead of FastAPI's generic dependency solver: measured with
    bench/bench_coverage.py, the solver alone cost about as much CPU as the bare lookup.
    The endpoint must take exactly `request`, `nik`, `principal` (CoverageReader) and `on`.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            principal = await coverage_reader(request, await bearer(request))
            response: Response = await endpoint(
                request=request,
                nik=request.path_params["nik"],
                principal=principal,
                on=query_date(request, "on"),
            )
            return response

        return handler
