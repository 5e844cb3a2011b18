"""Setup for coverage tests: two agreements with different parties, callers of every kind."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import ADMIN, create_organization
from tests.seed import CohortSpec, OfficerSpec, SeededAgreement, seed_agreement, seed_registrations
from tests.seed import held_conflict as held_conflict  # test_coverage.py takes it from here

KPPS_2024 = CohortSpec(
    role="KPPS", coverage_start=date(2024, 11, 1), coverage_end=date(2024, 12, 31)
)
PPK_2023 = CohortSpec(role="PPK", coverage_start=date(2023, 11, 1), coverage_end=date(2024, 2, 29))


@dataclass
class Caller:
    organization_id: str
    key_id: str
    headers: dict[str, str]


async def issue_key(client: httpx.AsyncClient, organization_id: str, scopes: list[str]) -> Caller:
    response = await client.post(
        f"/v1/organizations/{organization_id}/api-keys",
        json={"name": "coverage test", "scopes": scopes},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Caller(organization_id, body["id"], {"Authorization": f"Bearer {body['key']}"})


async def organization(client: httpx.AsyncClient, kind: str) -> str:
    return str((await create_organization(client, kind))["id"])


@dataclass
class World:
    branch: str
    counterpart: str
    other_branch: str
    other_counterpart: str
    mine: SeededAgreement
    theirs: SeededAgreement


async def two_agreements(client: httpx.AsyncClient, session: AsyncSession) -> World:
    """`mine`: branch + KPU, KPPS 2024 and PPK 2023; `theirs`: other branch + Bawaslu-free KPU."""
    branch = await organization(client, "bpjs_branch")
    counterpart = await organization(client, "kpu")
    other_branch = await organization(client, "bpjs_branch")
    other_counterpart = await organization(client, "kpu")
    mine = await seed_agreement(
        session,
        bpjs_branch_id=branch,
        counterpart_id=counterpart,
        cohorts=(KPPS_2024, PPK_2023),
        number="PKS/MINE/2024",
    )
    theirs = await seed_agreement(
        session,
        bpjs_branch_id=other_branch,
        counterpart_id=other_counterpart,
        cohorts=(KPPS_2024, PPK_2023),
        number="PKS/THEIRS/2024",
    )
    return World(branch, counterpart, other_branch, other_counterpart, mine, theirs)


async def register(
    session: AsyncSession, agreement: SeededAgreement, cohort: CohortSpec, *officers: OfficerSpec
) -> list[int]:
    return await seed_registrations(
        session, agreement=agreement, role=cohort.role, officers=officers, cohort=cohort
    )


async def kpj_of(session: AsyncSession, registration_id: int) -> Any:
    return await session.scalar(
        text("SELECT kpj FROM registrations WHERE id = :id"), {"id": registration_id}
    )


async def access_rows(session: AsyncSession, nik: int | None = None) -> list[Any]:
    sql = "SELECT api_key_id, organization_id, nik, endpoint, registrations FROM access_log"
    params: dict[str, Any] = {}
    if nik is not None:
        sql += " WHERE nik = :nik"
        params["nik"] = nik
    return list((await session.execute(text(sql + " ORDER BY id"), params)).all())


def new_uuid() -> str:
    return str(uuid.uuid4())
