"""Express routes: the requests of the hottest routes go straight to their handler.

FastAPI's way to a route's handler (the router walking every included router, twice, and the
route's exit stacks for dependencies with yield) cost about 50 us of CPU per coverage lookup,
measured in process with 16 concurrent callers: more than the app's own work on it. A route
class that sets `express = True` is matched here instead, innermost of the user middleware, by
FastAPI's own matching for that one route, and its handler is called with the app's exception
handlers around it, as the router would. Everything else passes on to the router.

An express route's class resolves its handler's arguments itself, as LookupRoute (in
app.coverage.dependencies) does: FastAPI's generic handler needs the exit stacks that the
router's path sets up, and dependencies given to its router or to include_router, which only the
router runs, are refused. An express route must win every request it matches, so only routes
with fixed paths (that it does not match) may come before it in the router's order: `install`
refuses the app otherwise. The exception handlers are those of the app when `install` runs.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

ExpressTable = list[tuple[Any, Any, ASGIApp]]  # (route context, route, handler app)


class ShadowedExpressRoute(RuntimeError):
    """A route that may match the same requests comes before an express route, or the router
    would run something for it that the express path does not."""


def install(app: FastAPI) -> None:
    """Call once every route and exception handler is in: the app's innermost middleware."""
    app.user_middleware.append(Middleware(ExpressRoutes, table=express_table(app)))


class ExpressRoutes:
    def __init__(self, app: ASGIApp, *, table: ExpressTable) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for context, route, handler in self.table:
                match, child_scope = context.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    scope["route"] = route
                    await handler(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def express_table(app: Any) -> ExpressTable:
    """The express routes of `app`, in the router's order, each checked to be unshadowed."""
    table: ExpressTable = []
    earlier: list[Any] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if getattr(route, "express", False):
            _refuse_shadows(context, earlier)
            if context.dependencies:
                raise ShadowedExpressRoute(
                    f"the express route {context.path_format} has dependencies of its router's,"
                    " which only the router runs"
                )
            table.append((context, route, _handler_app(app, route)))
        earlier.append(context)
    return table


def _refuse_shadows(context: Any, earlier: list[Any]) -> None:
    """Only a route of one fixed path (not a mount, not a template) that the express route does
    not match may come before it."""
    for before in earlier:
        path = getattr(before, "path_format", None)
        fixed = isinstance(before.original_route, Route) and path and "{" not in path
        if not fixed or context.path_regex.match(path):
            raise ShadowedExpressRoute(
                f"{path or before.original_route!r} comes before the express route"
                f" {context.path_format}"
            )


def _handler_app(app: Any, route: Any) -> ASGIApp:
    handle = route.get_route_handler()

    async def respond(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handle(Request(scope, receive, send))
        await response(scope, receive, send)

    # As FastAPI builds its stack: 500 and Exception are the outermost middleware's to answer.
    handlers = {
        key: value for key, value in app.exception_handlers.items() if key not in (500, Exception)
    }
    return ExceptionMiddleware(respond, handlers=handlers, debug=app.debug)
