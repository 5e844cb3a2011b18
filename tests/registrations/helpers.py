"""Setup for registration tests: a KPU agreement, a Bawaslu one, their parties and their keys."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_key, deal, organization_id
from tests.seed import CohortSpec, SeededAgreement

KPPS = CohortSpec(role="KPPS", coverage_start=date(2024, 11, 15), coverage_end=date(2024, 12, 31))
PPK = CohortSpec(role="PPK", coverage_start=date(2023, 11, 1), coverage_end=date(2024, 2, 29))
PTPS = CohortSpec(role="PTPS", coverage_start=date(2024, 11, 1), coverage_end=date(2024, 12, 31))
PKD = CohortSpec(role="PKD", coverage_start=date(2024, 12, 1), coverage_end=date(2024, 12, 31))

READ = ["registrations:read"]
READ_PII = ["registrations:read", "pii:read"]


@dataclass
class World:
    """`kpu`: branch + KPU counterpart + government payer; `bawaslu`: another branch + Bawaslu."""

    branch: str
    counterpart: str
    payer: str
    other_branch: str
    other_counterpart: str
    outsider: str
    kpu: SeededAgreement
    bawaslu: SeededAgreement


async def world(client: httpx.AsyncClient, session: AsyncSession) -> World:
    kpu = await deal(
        client, session, payer_kind="government", cohorts=(KPPS, PPK), number="PKS/KPU/2024"
    )
    bawaslu = await deal(
        client, session, counterpart_kind="bawaslu", cohorts=(PTPS, PKD), number="PKS/BAWASLU/2024"
    )
    return World(
        branch=kpu.branch.organization_id,
        counterpart=kpu.counterpart.organization_id,
        payer=kpu.payer.organization_id,
        other_branch=bawaslu.branch.organization_id,
        other_counterpart=bawaslu.counterpart.organization_id,
        outsider=await organization_id(client, "kpu"),
        kpu=kpu.agreement,
        bawaslu=bawaslu.agreement,
    )


async def key(client: httpx.AsyncClient, organization_id: str, *scopes: str) -> dict[str, str]:
    return await create_key(client, organization_id, list(scopes))


async def state(session: AsyncSession, registration_id: int) -> dict[str, Any]:
    """What the database holds about a registration's lifecycle, read past the ORM's cache."""
    row = (
        await session.execute(
            text(
                "SELECT status, ended_on, end_reason, conflict, conflict_registration_id "
                "FROM registrations WHERE id = :id"
            ),
            {"id": registration_id},
        )
    ).one()
    return dict(row._mapping)


async def audit_entries(session: AsyncSession, registration_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT action, actor_key_id, actor_organization_id, detail FROM audit_log "
            "WHERE entity_type = 'registration' AND entity_id = :id ORDER BY id"
        ),
        {"id": str(registration_id)},
    )
    return [dict(row._mapping) for row in rows]


async def village_outside(session: AsyncSession, regency: str, district: str) -> str:
    """A village of `regency` that is not in `district` (both dotted)."""
    code = await session.scalar(
        text(
            "SELECT code FROM regions WHERE level = 'village' AND code LIKE :regency "
            "AND code NOT LIKE :district ORDER BY code LIMIT 1"
        ),
        {"regency": regency + ".%", "district": district + ".%"},
    )
    assert code is not None
    return str(code)
