"""Organizations and API keys over HTTP."""

import uuid

import httpx

from tests.factories import ADMIN, create_organization


async def test_create_and_read_organization(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/organizations",
        json={"kind": "bpjs_branch", "name": "BPJS Cabang Kisaran", "region_code": "12.09"},
        headers=ADMIN,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "bpjs_branch"
    assert body["region_code"] == "12.09"
    uuid.UUID(body["id"])


async def test_bad_inputs(client: httpx.AsyncClient) -> None:
    cases = [
        ({"kind": "club", "name": "X", "region_code": "12.09"}, 422, "validation_error"),
        ({"kind": "kpu", "name": "", "region_code": "12.09"}, 422, "validation_error"),
        ({"kind": "kpu", "name": "X", "region_code": "12-09"}, 422, "validation_error"),
        ({"kind": "kpu", "name": "X", "region_code": "99.99"}, 422, "region_not_found"),
        ({"kind": "kpu", "name": "X", "region_code": "12.09", "extra": 1}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await client.post("/v1/organizations", json=body, headers=ADMIN)
        assert response.status_code == status, body
        assert response.json()["code"] == code, body
    listed = await client.get("/v1/organizations", headers=ADMIN)
    assert listed.json()["items"] == []


async def test_duplicate_organization_is_409(client: httpx.AsyncClient) -> None:
    body = {"kind": "kpu", "name": "KPU Kabupaten Asahan", "region_code": "12.09"}
    assert (await client.post("/v1/organizations", json=body, headers=ADMIN)).status_code == 201
    again = await client.post("/v1/organizations", json=body, headers=ADMIN)
    assert again.status_code == 409
    assert again.json()["code"] == "organization_exists"


async def test_list_pages_and_kind_filter(client: httpx.AsyncClient) -> None:
    created = {(await create_organization(client, "kpu"))["id"] for _ in range(5)}
    await create_organization(client, "bawaslu")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "kind": "kpu"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/organizations", params=params, headers=ADMIN)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)


async def test_issue_key_shows_secret_once_and_it_works(client: httpx.AsyncClient) -> None:
    organization = await create_organization(client, "integrator")
    issued = await client.post(
        f"/v1/organizations/{organization['id']}/api-keys",
        json={"name": "hospital", "scopes": ["coverage:read"]},
        headers=ADMIN,
    )
    assert issued.status_code == 201
    body = issued.json()
    assert body["key"].startswith("prs_") and body["scopes"] == ["coverage:read"]
    headers = {"Authorization": f"Bearer {body['key']}"}
    mine = await client.get("/v1/organizations", headers=headers)
    assert mine.json()["items"][0]["id"] == organization["id"]


async def test_key_bad_inputs(client: httpx.AsyncClient) -> None:
    organization = await create_organization(client, "kpu")
    url = f"/v1/organizations/{organization['id']}/api-keys"
    bad_scope = await client.post(url, json={"name": "k", "scopes": ["root"]}, headers=ADMIN)
    assert bad_scope.status_code == 422
    no_scope = await client.post(url, json={"name": "k", "scopes": []}, headers=ADMIN)
    assert no_scope.status_code == 422
    admin_scope = await client.post(url, json={"name": "k", "scopes": ["admin"]}, headers=ADMIN)
    assert admin_scope.status_code == 422
    assert admin_scope.json()["code"] == "scope_not_allowed"
    missing = await client.post(
        f"/v1/organizations/{uuid.uuid4()}/api-keys",
        json={"name": "k", "scopes": ["coverage:read"]},
        headers=ADMIN,
    )
    assert missing.status_code == 404
    malformed = await client.post(
        "/v1/organizations/not-a-uuid/api-keys",
        json={"name": "k", "scopes": ["coverage:read"]},
        headers=ADMIN,
    )
    assert malformed.status_code == 422


async def test_revoke_unknown_key_is_404(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"/v1/api-keys/{uuid.uuid4()}", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["code"] == "api_key_not_found"


async def test_changes_are_audited(client: httpx.AsyncClient, session) -> None:
    from sqlalchemy import select

    from app.models import AuditEntry

    organization = await create_organization(client, "kpu")
    actions = (
        await session.execute(
            select(AuditEntry.action).where(AuditEntry.entity_id == organization["id"])
        )
    ).scalars()
    assert list(actions) == ["organization.create"]


async def test_database_refuses_unknown_kind(session) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    from app.models import Organization

    session.add(Organization(kind="club", name="Klub", region_code="12.09"))
    with pytest.raises(IntegrityError):
        await session.flush()
