"""The route class every router uses, and the problem responses the docs show."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from app.core.errors import PROBLEM_JSON, UnsupportedMediaType

JSON_BODY_METHODS = {"POST", "PUT", "PATCH"}


class AppRoute(APIRoute):
    """Refuses a JSON route's body sent as anything but JSON with 415."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            if request.method in JSON_BODY_METHODS and not _is_json(request):
                raise UnsupportedMediaType("Send the body as application/json")
            return await handler(request)

        return checked


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
    code: str
    errors: list[ProblemItem] | None = None

    model_config = {"extra": "allow"}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the given statuses (401 and 422 are always added)."""
    descriptions = {
        400: "Bad request",
        401: "Missing, wrong or revoked API key",
        403: "The key lacks the scope",
        404: "Not found (or not visible to this organization)",
        406: "No representation matches the Accept header",
        409: "Conflict with the current state",
        412: "Stale If-Match",
        413: "Body too large",
        415: "Unsupported content type",
        422: "Invalid input",
        428: "If-Match required",
        503: "Database unavailable",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(status, "Problem"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in sorted({401, 422, *statuses})
    }
