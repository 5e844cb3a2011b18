"""Builders for test data through the public API, so tests read like a partner's calls."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ALL_SCOPES = [
    "agreements:write",
    "agreements:read",
    "rosters:write",
    "registrations:read",
    "coverage:read",
    "pii:read",
    "claims:write",
    "claims:review",
    "reports:read",
    "events:read",
    "webhooks:write",
]


async def create_organization(
    client: httpx.AsyncClient, kind: str, region_code: str = "12.09", name: str | None = None
) -> dict[str, Any]:
    response = await client.post(
        "/v1/organizations",
        json={
            "kind": kind,
            "name": name or f"{kind} {uuid.uuid4().hex[:8]}",
            "region_code": region_code,
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_key(
    client: httpx.AsyncClient, organization_id: str, scopes: list[str] | None = None
) -> dict[str, str]:
    """Authorization headers of a new key of the organization."""
    response = await client.post(
        f"/v1/organizations/{organization_id}/api-keys",
        json={"name": "test key", "scopes": scopes or ALL_SCOPES},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


async def organization_with_key(
    client: httpx.AsyncClient,
    kind: str,
    region_code: str = "12.09",
    scopes: list[str] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    organization = await create_organization(client, kind, region_code)
    return organization, await create_key(client, organization["id"], scopes)


async def organization_id(client: httpx.AsyncClient, kind: str) -> str:
    """The id of a new organization of `kind`."""
    return str((await create_organization(client, kind))["id"])


@dataclass
class Caller:
    organization_id: str
    key_id: str
    headers: dict[str, str]


async def issue_key(client: httpx.AsyncClient, organization_id: str, scopes: list[str]) -> Caller:
    """A new key of the organization with `scopes`, with its id and Authorization headers."""
    response = await client.post(
        f"/v1/organizations/{organization_id}/api-keys",
        json={"name": "test key", "scopes": scopes},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Caller(organization_id, body["id"], {"Authorization": f"Bearer {body['key']}"})
