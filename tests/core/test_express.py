"""Express routes (app.core.express): answered past the router, as the router would answer."""

from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from app.core import express
from tests.conftest import asgi_client
from tests.factories import organization_with_key


class Express(APIRoute):
    """An express route's class resolves its handler's arguments itself, as LookupRoute does."""

    express = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            return JSONResponse(await endpoint(request))

        return handler


def small_app(*before: str, mount: str | None = None) -> FastAPI:
    """A mount at `mount`, routes at the paths `before`, then the express `GET /items/{number}`."""
    app = FastAPI()
    if mount is not None:
        app.mount(mount, JSONResponse({"mounted": True}))
    router = APIRouter()

    async def fixed(request: Request) -> dict[str, str]:
        return {"route": request.scope["route"].path}

    for path in before:
        router.add_api_route(path, fixed)

    async def item(request: Request) -> dict[str, object]:
        number = request.path_params["number"]
        if number == "0":
            raise HTTPException(404)
        return {"route": request.scope["route"].path, "number": number}

    router.add_api_route("/items/{number}", item, route_class_override=Express)
    router.add_api_route("/items/{number}", item, methods=["PUT"])
    app.include_router(router)

    async def teapot(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"answered_by": "the app's handler"}, status_code=418)

    app.add_exception_handler(HTTPException, teapot)
    return app


@pytest.mark.parametrize(
    "before", ["/items/{kind}", "/items/special", "/{anything}/{number}"], ids=str
)
def test_an_app_whose_express_route_could_lose_a_request_is_refused(before: str) -> None:
    with pytest.raises(express.ShadowedExpressRoute, match="before the express route"):
        express.install(small_app(before))


def test_an_express_route_whose_router_has_dependencies_is_refused() -> None:
    async def checked() -> None:
        return None

    app = FastAPI()
    router = APIRouter(dependencies=[Depends(checked)])
    router.add_api_route("/items/{number}", checked, route_class_override=Express)
    app.include_router(router)
    with pytest.raises(express.ShadowedExpressRoute, match="which only the router runs"):
        express.install(app)


def test_a_mount_before_an_express_route_is_refused_whatever_its_path() -> None:
    with pytest.raises(express.ShadowedExpressRoute, match="things"):
        express.install(small_app(mount="/things"))


async def test_an_express_route_answers_with_the_apps_handlers_and_leaves_the_rest() -> None:
    app = small_app("/other", "/items")
    express.install(app)
    async with asgi_client(app) as client:
        item = await client.get("/items/7")
        assert item.json() == {"route": "/items/{number}", "number": "7"}
        missing = await client.get("/items/0")
        assert missing.status_code == 418 and missing.json()["answered_by"] == "the app's handler"
        # Other methods on the same path, and the fixed paths before it, go through the router.
        assert (await client.put("/items/7")).json()["number"] == "7"
        assert (await client.post("/items/7")).status_code == 405
        assert (await client.get("/other")).json() == {"route": "/other"}
        assert (await client.get("/items")).json() == {"route": "/items"}


def routed_paths(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests that will reach `app`'s router."""
    routed: list[str] = []
    router_type = type(app.router)
    call = router_type.__call__

    async def spy(router: Any, scope: Any, receive: Any, send: Any) -> None:
        routed.append(scope["path"])
        await call(router, scope, receive, send)

    monkeypatch.setattr(router_type, "__call__", spy)
    return routed


async def test_an_express_request_never_reaches_the_router(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = small_app("/other")
    express.install(app)
    routed = routed_paths(app, monkeypatch)
    async with asgi_client(app) as client:
        assert (await client.get("/items/7")).status_code == 200
        assert (await client.get("/other")).status_code == 200
        assert (await client.put("/items/7")).status_code == 200
    assert routed == ["/other", "/items/7"]  # the PUT: the express route is GET only


async def test_the_lookup_is_counted_under_its_route_and_its_neighbours_still_answer(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await organization_with_key(client, "integrator")
    routed = routed_paths(app, monkeypatch)
    assert (await client.get("/v1/coverage/1209185705900001", headers=headers)).status_code == 200
    assert routed == []
    metrics = (await client.get("/metrics")).text
    assert (
        'perisai_http_requests_total{method="GET",route="/v1/coverage/{nik}",status="200"} 1.0'
    ) in metrics
    slash = await client.get("/v1/coverage/1209185705900001/", headers=headers)
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/v1/coverage/1209185705900001")
    batch = await client.post(
        "/v1/coverage/checks", json={"niks": ["1209185705900001"]}, headers=headers
    )
    assert batch.status_code == 200 and len(batch.json()["results"]) == 1
    wrong = await client.delete("/v1/coverage/1209185705900001", headers=headers)
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
