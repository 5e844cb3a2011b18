"""How a coverage read finds its arguments, cheaply: it is the hottest path."""

import re
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from app.core.routing import AppRoute
from app.coverage.auth import lookup_reader

_DATE = TypeAdapter(date)
_ESCAPES = re.compile(rb"[&;%+=]")


def query_date(request: Request, name: str) -> date | None:
    """An optional date query parameter, refused as FastAPI would (422 validation_error)."""
    text = _lone_parameter(request.scope["query_string"], name)
    if text is None:
        text = request.query_params.get(name)
        if text is None:
            return None
    try:
        return _DATE.validate_python(text)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("query", name, *error["loc"])} for error in exc.errors()]
        ) from None


def _lone_parameter(query: bytes, name: str) -> str | None:
    """The value of a query string that is just `name=value` with nothing to unescape (as a
    lookup's `?on=YYYY-MM-DD` is), else None; parsing the general case costs about 3 us."""
    head, equals, value = query.partition(b"=")
    if not equals or head != name.encode() or _ESCAPES.search(value):
        return None
    return value.decode("latin-1")


class LookupRoute(AppRoute):
    """The route class of `GET /v1/coverage/{nik}`.

    Declared like any route (its parameters, docs and errors come from the endpoint's
    signature), but each request calls the endpoint with arguments resolved by the few lines
    below instead of FastAPI's generic dependency solver: measured with
    bench/bench_coverage.py, the solver alone cost about as much CPU as the bare lookup.
    The endpoint must take exactly `request`, `nik`, `principal` (CoverageReader) and `on`.
    An express route (app.core.express): requests reach it past FastAPI's router.
    """

    express = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            principal = await lookup_reader(request)
            response: Response = await endpoint(
                request=request,
                nik=request.path_params["nik"],
                principal=principal,
                on=query_date(request, "on"),
            )
            return response

        return handler
