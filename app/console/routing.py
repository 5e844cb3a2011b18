"""The console's route classes and error pages. Every answer gets the security headers. An error
propagates out of the route as it does in the API (so the request's transaction rolls back),
and the app's handlers render it: for a page, as an Indonesian page (a missing session: a
redirect to the sign-in form; a value the database refuses: its 422); for a script, as the
API's problem+json with the Indonesian sentence."""

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, DBAPIError

from app.console.rendering import error_page, message_of, secure
from app.console.sessions import SignInRequired, sign_in_url
from app.core.errors import AppError, Unprocessable, is_data_exception, refused_value, sqlstate_of

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            return secure(await handler(request))

        return secured


class PageRoute(ConsoleRoute):
    """A page: its errors are pages."""


class ScriptRoute(ConsoleRoute):
    """One of the few calls the page's script makes (upload, batch progress)."""


def page_router() -> APIRouter:
    return APIRouter(prefix="/console", route_class=PageRoute, include_in_schema=False)


def script_router() -> APIRouter:
    return APIRouter(prefix="/console", route_class=ScriptRoute, include_in_schema=False)


def _as_app_error(exc: Exception) -> AppError | None:
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, RequestValidationError):
        return Unprocessable("Isian atau alamat tidak valid", code="validation_error")
    sqlstate = sqlstate_of(exc)
    return refused_value(sqlstate) if is_data_exception(sqlstate) else None


def _console_first(original: ExceptionHandler) -> Callable[[Request, Any], Awaitable[Response]]:
    async def handle(request: Request, exc: Exception) -> Response:
        route = request.scope.get("route")
        error = _as_app_error(exc) if isinstance(route, ConsoleRoute) else None
        if isinstance(route, PageRoute) and error is not None:
            if isinstance(error, SignInRequired):
                return secure(RedirectResponse(sign_in_url(request), status_code=303))
            return secure(error_page(request, error))
        if isinstance(route, ScriptRoute) and isinstance(exc, AppError):
            exc.detail = message_of(exc)
        answered = original(request, exc)
        response = await answered if inspect.isawaitable(answered) else answered
        return secure(response) if isinstance(route, ConsoleRoute) else response

    return handle


def install_error_pages(app: FastAPI) -> None:
    """Puts the console's rendering in front of the app's handlers of these errors."""
    for kind in (AppError, RequestValidationError, DataError, DBAPIError):
        original = app.exception_handlers[kind]
        app.add_exception_handler(kind, _console_first(original))
