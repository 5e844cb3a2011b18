"""Setup for agreement tests: the parties of an agreement with their keys, and request bodies."""

import copy
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, AgreementRate, AuditEntry, Cohort
from tests.factories import Caller, party

WRITE = ["agreements:write", "agreements:read"]
READ = ["agreements:read"]


@dataclass
class Parties:
    branch: Caller
    kpu: Caller
    bawaslu: Caller
    government: Caller


async def parties(client: httpx.AsyncClient) -> Parties:
    return Parties(
        branch=await party(client, "bpjs_branch", WRITE),
        kpu=await party(client, "kpu", READ),
        bawaslu=await party(client, "bawaslu", READ),
        government=await party(client, "government", READ),
    )


PPK = {
    "role": "PPK",
    "planned_headcount": 125,
    "coverage_start": "2023-11-01",
    "coverage_end": "2024-02-29",
    "election": "pemilu-2024",
}
KPPS = {
    "role": "KPPS",
    "planned_headcount": 12465,
    "coverage_start": "2024-11-01",
    "coverage_end": "2024-12-31",
}


def body(p: Parties, number: str = "PKS/ASAHAN/KPU/2024", **overrides: Any) -> dict[str, Any]:
    """A valid Asahan-like KPU agreement spanning Pemilu 2024 and Pilkada 2024 cohorts."""
    data: dict[str, Any] = {
        "number": number,
        "bpjs_branch_id": p.branch.organization_id,
        "counterpart_id": p.kpu.organization_id,
        "election": "pilkada-2024",
        "region_code": "12.09",
        "signed_on": "2024-11-11",
        "signed_place": "Aula Kejaksaan Negeri Asahan",
        "cohorts": copy.deepcopy([PPK, KPPS]),
    }
    data.update(overrides)
    return data


async def create(client: httpx.AsyncClient, p: Parties, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/agreements", json=body(p, **overrides), headers=p.branch.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def counts(session: AsyncSession) -> tuple[int, int, int, int]:
    """Rows in agreements, agreement_rates, cohorts and agreement audit entries."""
    return (
        await session.scalar(select(func.count()).select_from(Agreement)) or 0,
        await session.scalar(select(func.count()).select_from(AgreementRate)) or 0,
        await session.scalar(select(func.count()).select_from(Cohort)) or 0,
        await session.scalar(
            select(func.count()).where(AuditEntry.entity_type.in_(["agreement", "cohort"]))
        )
        or 0,
    )
