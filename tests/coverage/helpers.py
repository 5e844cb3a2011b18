"""Setup for coverage tests: two agreements with different parties, callers of every kind."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import deal
from tests.seed import CohortSpec, SeededAgreement
from tests.seed import held_conflict as held_conflict  # test_coverage.py takes it from here

KPPS_2024 = CohortSpec(
    role="KPPS", coverage_start=date(2024, 11, 1), coverage_end=date(2024, 12, 31)
)
PPK_2023 = CohortSpec(role="PPK", coverage_start=date(2023, 11, 1), coverage_end=date(2024, 2, 29))


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
    cohorts = (KPPS_2024, PPK_2023)
    mine = await deal(client, session, cohorts=cohorts, number="PKS/MINE/2024")
    theirs = await deal(client, session, cohorts=cohorts, number="PKS/THEIRS/2024")
    return World(
        branch=mine.branch.organization_id,
        counterpart=mine.counterpart.organization_id,
        other_branch=theirs.branch.organization_id,
        other_counterpart=theirs.counterpart.organization_id,
        mine=mine.agreement,
        theirs=theirs.agreement,
    )


async def kpj_of(session: AsyncSession, registration_id: int) -> Any:
    return await session.scalar(
        text("SELECT kpj FROM registrations WHERE id = :id"), {"id": registration_id}
    )


def new_uuid() -> str:
    return str(uuid.uuid4())
