"""Every error class answers RFC 9457 problem+json with a stable code, never a stack trace."""

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import create_engine, create_sessionmaker
from app.main import create_app
from tests.conftest import app_on, app_settings, asgi_client
from tests.factories import ADMIN
from tests.problems import assert_problem


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_problem(await client.put("/v1/organizations", headers=ADMIN), 405, "method_not_allowed")


async def test_validation_error_lists_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/organizations", json={"kind": "kpu"}, headers=ADMIN)
    body = assert_problem(response, 422, "validation_error")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert {tuple(item["loc"]) for item in errors} >= {("body", "name"), ("body", "region_code")}
    assert all({"loc", "code", "msg"} <= item.keys() for item in errors)


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/organizations",
        content=b'{"kind": "kpu",',
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "validation_error")


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/organizations",
        content=b"kind=kpu",
        headers={**ADMIN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported_media_type")


async def test_body_over_limit_is_413(database_url: str, sessionmaker) -> None:
    app = app_on(sessionmaker, database_url, max_upload_bytes=2048)
    async with asgi_client(app) as client:
        big = {"kind": "kpu", "name": "x" * 5000, "region_code": "12.09"}
        assert_problem(
            await client.post("/v1/organizations", json=big, headers=ADMIN),
            413,
            "payload_too_large",
        )

        async def chunks():
            for _ in range(10):
                yield b"x" * 1000

        streamed = await client.post(
            "/v1/organizations",
            content=chunks(),
            headers={**ADMIN, "Content-Type": "application/json"},
        )
        assert_problem(streamed, 413, "payload_too_large")


async def test_invalid_cursor_is_422(client: httpx.AsyncClient) -> None:
    for cursor in ("not-base64!", "WyJ4Il0", "bm90IGpzb24"):
        response = await client.get("/v1/organizations", params={"cursor": cursor}, headers=ADMIN)
        assert_problem(response, 422, "invalid_cursor")


def unreachable_app() -> FastAPI:
    url = "postgresql://postgres@127.0.0.1:9/perisai"
    app = create_app(app_settings(url))
    app.state.sessionmaker = create_sessionmaker(create_engine(url, pool_size=1))
    return app


async def test_database_down_is_503() -> None:
    transport = httpx.ASGITransport(app=unreachable_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        ready = await client.get("/readyz")
        assert_problem(ready, 503, "database_unavailable")
        listed = await client.get("/v1/organizations", headers=ADMIN)
        assert_problem(listed, 503, "database_unavailable")
        assert (await client.get("/healthz")).status_code == 200


async def test_nul_in_text_is_422_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # The schema takes any string for a name; PostgreSQL text cannot hold a NUL (22021).
    count = text("SELECT count(*) FROM organizations")
    before = await session.scalar(count)
    response = await client.post(
        "/v1/organizations",
        json={"kind": "kpu", "name": "KPU\x00Asahan", "region_code": "12.09"},
        headers=ADMIN,
    )
    assert_problem(response, 422, "invalid_text")
    assert await session.scalar(count) == before
