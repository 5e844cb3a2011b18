"""Idempotency-Key: replay, mismatch, and a request still in flight."""

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.factories import ADMIN

BODY = {"kind": "government", "name": "Pemkab Muara Enim", "region_code": "16.03"}


async def test_same_key_same_body_replays(client: httpx.AsyncClient) -> None:
    headers = {**ADMIN, "Idempotency-Key": "create-pemkab-1"}
    first = await client.post("/v1/organizations", json=BODY, headers=headers)
    second = await client.post("/v1/organizations", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    listed = await client.get("/v1/organizations", params={"kind": "government"}, headers=ADMIN)
    assert len(listed.json()["items"]) == 1


async def test_same_key_other_body_is_422(client: httpx.AsyncClient) -> None:
    headers = {**ADMIN, "Idempotency-Key": "create-pemkab-2"}
    assert (await client.post("/v1/organizations", json=BODY, headers=headers)).status_code == 201
    changed = {**BODY, "name": "Pemprov Bengkulu", "region_code": "17"}
    response = await client.post("/v1/organizations", json=changed, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    listed = await client.get("/v1/organizations", params={"kind": "government"}, headers=ADMIN)
    assert len(listed.json()["items"]) == 1


async def test_failed_request_does_not_burn_the_key(client: httpx.AsyncClient) -> None:
    headers = {**ADMIN, "Idempotency-Key": "create-pemkab-3"}
    bad = await client.post(
        "/v1/organizations", json={**BODY, "region_code": "99"}, headers=headers
    )
    assert bad.status_code == 422
    good = await client.post("/v1/organizations", json=BODY, headers=headers)
    assert good.status_code == 201


async def test_key_in_flight_is_409(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    key = "create-pemkab-4"
    async with engine.connect() as other:
        await other.execute(select(func.pg_advisory_lock(func.hashtextextended(f"admin:{key}", 0))))
        try:
            response = await client.post(
                "/v1/organizations", json=BODY, headers={**ADMIN, "Idempotency-Key": key}
            )
        finally:
            await other.execute(
                select(func.pg_advisory_unlock(func.hashtextextended(f"admin:{key}", 0)))
            )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_flight"


async def test_keys_are_per_caller(client: httpx.AsyncClient) -> None:
    from tests.factories import create_organization

    operator = await create_organization(client, "operator", "31")
    issued = await client.post(
        f"/v1/organizations/{operator['id']}/api-keys",
        json={"name": "op", "scopes": ["admin"]},
        headers=ADMIN,
    )
    other = {"Authorization": f"Bearer {issued.json()['key']}", "Idempotency-Key": "shared"}
    mine = await client.post(
        "/v1/organizations", json=BODY, headers={**ADMIN, "Idempotency-Key": "shared"}
    )
    theirs = await client.post(
        "/v1/organizations",
        json={**BODY, "name": "Pemkab Asahan", "region_code": "12.09"},
        headers=other,
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


async def test_same_json_spelled_otherwise_replays(client: httpx.AsyncClient) -> None:
    headers = {
        **ADMIN,
        "Idempotency-Key": "create-pemkab-spacing",
        "Content-Type": "application/json",
    }
    compact = b'{"kind":"government","name":"Pemkab Muara Enim","region_code":"16.03"}'
    spaced = (
        b'{\n  "region_code": "16.03",\n  "name": "Pemkab Muara Enim",\n  "kind": "government"\n}'
    )
    first = await client.post("/v1/organizations", content=compact, headers=headers)
    second = await client.post("/v1/organizations", content=spaced, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    # A changed value is still another request, however it is spelled.
    other = spaced.replace(b"Muara Enim", b"Muara  Enim")
    reused = await client.post("/v1/organizations", content=other, headers=headers)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
