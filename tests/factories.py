"""Builders for test data through the public API, so tests read like a partner's calls."""

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import ADMIN_KEY
from tests.seed import SeededAgreement, seed_agreement

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


@dataclass
class Caller:
    """A key of an organization: whom it speaks for, its id, and the headers that present it."""

    organization_id: str
    key_id: str
    headers: dict[str, str]


async def issue_key(
    client: httpx.AsyncClient,
    organization_id: str,
    scopes: list[str] | None = None,
    name: str = "test key",
) -> Caller:
    """A new key of the organization with `scopes` (every scope but admin when None): the one way
    tests mint a key."""
    response = await client.post(
        f"/v1/organizations/{organization_id}/api-keys",
        json={"name": name, "scopes": ALL_SCOPES if scopes is None else scopes},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Caller(organization_id, body["id"], {"Authorization": f"Bearer {body['key']}"})


async def create_key(
    client: httpx.AsyncClient, organization_id: str, scopes: list[str] | None = None
) -> dict[str, str]:
    """Authorization headers of a new key of the organization."""
    return (await issue_key(client, organization_id, scopes)).headers


async def party(
    client: httpx.AsyncClient,
    kind: str,
    scopes: list[str] | None = None,
    region_code: str = "12.09",
) -> Caller:
    """A new organization of `kind` and a key of it."""
    organization = await create_organization(client, kind, region_code)
    return await issue_key(client, organization["id"], scopes)


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
class Deal:
    """An agreement with the keys of its parties: the world most tests start from."""

    agreement: SeededAgreement
    branch: Caller
    counterpart: Caller
    payer: Caller  # the counterpart itself when the agreement names no other payer


async def deal(
    client: httpx.AsyncClient,
    session: AsyncSession,
    *,
    counterpart_kind: str = "kpu",
    payer_kind: str | None = None,
    scopes: list[str] | None = None,
    payer_scopes: list[str] | None = None,
    region_code: str = "12.09",
    branch: Caller | None = None,
    **agreement: Any,
) -> Deal:
    """A BPJS branch (or `branch`), a `counterpart_kind` office and, with `payer_kind`, a paying
    organization, each with a key of `scopes`, party to an agreement seeded with `agreement`
    (the keywords of tests.seed.seed_agreement)."""
    branch = branch or await party(client, "bpjs_branch", scopes, region_code)
    counterpart = await party(client, counterpart_kind, scopes, region_code)
    payer = counterpart
    if payer_kind is not None:
        payer = await party(client, payer_kind, payer_scopes or scopes, region_code)
    seeded = await seed_agreement(
        session,
        bpjs_branch_id=branch.organization_id,
        counterpart_id=counterpart.organization_id,
        payer_id=payer.organization_id,
        region_code=region_code,
        **agreement,
    )
    return Deal(seeded, branch, counterpart, payer)
