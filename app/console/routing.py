"""The console's route classes: every answer gets the security headers; a page's error is an
Indonesian page (a missing session: the sign-in form), a script's is problem+json."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from app.console.rendering import error_page, message_of, secure
from app.console.sessions import SignInRequired, sign_in_url
from app.core.errors import AppError, Unprocessable, render

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _invalid(exc: RequestValidationError) -> AppError:
    return Unprocessable("Isian atau alamat tidak valid", code="validation_error")


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = RedirectResponse(sign_in_url(request), status_code=303)
            except AppError as error:
                response = error_page(request, error)
            except RequestValidationError as exc:
                response = error_page(request, _invalid(exc))
            return secure(response)

        return guarded


class ScriptRoute(APIRoute):
    """For the few calls the page's script makes (upload, batch progress)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except AppError as error:
                error.detail = message_of(error)
                response = render(error)
            except RequestValidationError as exc:
                response = render(_invalid(exc))
            return secure(response)

        return guarded


def page_router() -> APIRouter:
    return APIRouter(prefix="/console", route_class=PageRoute, include_in_schema=False)


def script_router() -> APIRouter:
    return APIRouter(prefix="/console", route_class=ScriptRoute, include_in_schema=False)
