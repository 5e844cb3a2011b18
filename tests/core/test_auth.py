"""The auth matrix: no key, wrong key, revoked key, missing scope, another organization."""

import httpx

from tests.factories import ADMIN, create_key, create_organization, organization_with_key


async def test_no_key_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/organizations")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


async def test_malformed_and_unknown_keys_are_401(client: httpx.AsyncClient) -> None:
    for token in ("nonsense", "prs_0123456789.wrong-secret", "prs_short.secret"):
        response = await client.get(
            "/v1/organizations", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, token


async def test_right_prefix_wrong_secret_is_401(client: httpx.AsyncClient) -> None:
    organization = await create_organization(client, "kpu")
    headers = await create_key(client, organization["id"], ["agreements:read"])
    token = headers["Authorization"].removeprefix("Bearer ")
    forged = token.rsplit(".", 1)[0] + ".forged-secret"
    response = await client.get("/v1/organizations", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_revoked_key_is_401(client: httpx.AsyncClient) -> None:
    organization = await create_organization(client, "kpu")
    issued = await client.post(
        f"/v1/organizations/{organization['id']}/api-keys",
        json={"name": "to revoke", "scopes": ["agreements:read"]},
        headers=ADMIN,
    )
    headers = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert (await client.get("/v1/organizations", headers=headers)).status_code == 200

    revoked = await client.delete(f"/v1/api-keys/{issued.json()['id']}", headers=ADMIN)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None

    response = await client.get("/v1/organizations", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "key_revoked"


async def test_missing_scope_is_403(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "kpu", scopes=["agreements:read"])
    response = await client.post(
        "/v1/organizations",
        json={"kind": "kpu", "name": "KPU Lain", "region_code": "12.09"},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


async def test_organization_sees_only_itself(client: httpx.AsyncClient) -> None:
    mine, headers = await organization_with_key(client, "kpu")
    other = await create_organization(client, "bawaslu")
    listed = await client.get("/v1/organizations", headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [mine["id"]]
    assert other["id"] not in listed.text


async def test_non_admin_cannot_issue_or_revoke_keys(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "kpu")
    other = await create_organization(client, "bawaslu")
    issued = await client.post(
        f"/v1/organizations/{other['id']}/api-keys",
        json={"name": "x", "scopes": ["coverage:read"]},
        headers=headers,
    )
    assert issued.status_code == 403
    key_of_other = await client.post(
        f"/v1/organizations/{other['id']}/api-keys",
        json={"name": "x", "scopes": ["coverage:read"]},
        headers=ADMIN,
    )
    revoked = await client.delete(f"/v1/api-keys/{key_of_other.json()['id']}", headers=headers)
    assert revoked.status_code == 403


async def test_secret_is_stored_as_hash_only(client: httpx.AsyncClient, session) -> None:
    from sqlalchemy import select

    from app.models import ApiKey

    organization = await create_organization(client, "kpu")
    issued = await client.post(
        f"/v1/organizations/{organization['id']}/api-keys",
        json={"name": "k", "scopes": ["coverage:read"]},
        headers=ADMIN,
    )
    secret = issued.json()["key"].rsplit(".", 1)[1]
    stored = (
        await session.execute(select(ApiKey).where(ApiKey.id == issued.json()["id"]))
    ).scalar_one()
    assert secret.encode() not in stored.secret_hash
    assert len(stored.secret_hash) == 32
    listed = await client.get("/v1/organizations", headers=ADMIN)
    assert secret not in listed.text
