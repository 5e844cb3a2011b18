"""Read nothing before the caller is known; JSON bodies held to MAX_JSON_BYTES; non-UTF-8 JSON."""

from collections.abc import AsyncIterator

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Organization
from tests.factories import ADMIN

CHUNK = 64 * 1024
MIB = 1024 * 1024


class CountingBody:
    """A chunked request body that counts how many of its chunks the server pulled."""

    def __init__(self, chunks: int, chunk: bytes = b" " * CHUNK) -> None:
        self.chunks = chunks
        self.chunk = chunk
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


async def organizations(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


async def test_large_body_without_a_key_is_401_unread(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await organizations(session)
    roster = "/v1/agreements/00000000-0000-0000-0000-000000000001/rosters"
    for url in ("/v1/organizations", "/v1/coverage/checks", roster):
        body = CountingBody(chunks=64)  # 4 MiB, over MAX_JSON_BYTES, sent without a length
        response = await client.post(
            url, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 401, url
        assert response.json()["code"] == "unauthorized"
        assert body.pulled == 0, url
    # A wrong key is refused unread too.
    body = CountingBody(chunks=64)
    wrong = {"Authorization": "Bearer prs_0123456789.nope", "Content-Type": "application/json"}
    response = await client.post("/v1/organizations", content=body, headers=wrong)
    assert response.status_code == 401 and body.pulled == 0
    assert await organizations(session) == before


async def test_declared_length_over_the_limit_is_413_unread(client: httpx.AsyncClient) -> None:
    body = CountingBody(chunks=1)
    headers = {**ADMIN, "Content-Type": "application/json", "Content-Length": str(2 * MIB)}
    response = await client.post("/v1/organizations", content=body, headers=headers)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "payload_too_large"
    assert body.pulled == 0


async def test_chunked_json_over_the_limit_is_413_as_soon_as_it_passes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await organizations(session)
    body = CountingBody(chunks=160)  # 10 MiB
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = await client.post("/v1/organizations", content=body, headers=headers)
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    # 1 MiB is 16 chunks: the 17th passes the limit and nothing more is read.
    assert body.pulled == MIB // CHUNK + 1
    assert await organizations(session) == before


async def test_json_under_the_limit_is_read(client: httpx.AsyncClient) -> None:
    padding = " " * (MIB - 200)
    body = f'{{"kind": "kpu", "name": "KPU Asahan",{padding}"region_code": "12.09"}}'
    response = await client.post(
        "/v1/organizations",
        content=body.encode(),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_non_utf8_json_is_422_with_a_code(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await organizations(session)
    for body in (
        b'{"kind": "kpu", "name": "KPU \xe9\xe9", "region_code": "12.09"}',  # Latin-1
        '{"kind": "kpu", "name": "KPU", "region_code": "12.09"}'.encode("utf-16"),
        b"\xff\xfe\x00",
    ):
        response = await client.post(
            "/v1/organizations",
            content=body,
            headers={**ADMIN, "Content-Type": "application/json"},
        )
        assert response.status_code == 422, body
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["code"] == "json_invalid"
        assert problem["errors"][0]["loc"] == ["body"]
    assert await organizations(session) == before
    # UTF-8 with a BOM, and non-ASCII UTF-8, stay welcome.
    for body in (
        '\ufeff{"kind": "kpu", "name": "KPU Tebing", "region_code": "12.09"}'.encode(),
        '{"kind": "kpu", "name": "KPU Kisaran — Asahan", "region_code": "12.09"}'.encode(),
    ):
        response = await client.post(
            "/v1/organizations",
            content=body,
            headers={**ADMIN, "Content-Type": "application/json"},
        )
        assert response.status_code == 201, response.text
