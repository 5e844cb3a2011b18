"""Setup for contribution tests: an agreement with distinct branch, counterpart and payer."""

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_key, party
from tests.seed import (
    CohortSpec,
    OfficerSpec,
    SeededAgreement,
    held_conflict,
    make_nik,
    seed_agreement,
)

KPPS = CohortSpec(
    role="KPPS",
    coverage_start=date(2024, 11, 1),
    coverage_end=date(2024, 12, 31),
    planned_headcount=40,
)
REPORTS = ["reports:read"]
WRITE = ["agreements:write", "reports:read"]


@dataclass
class Parties:
    branch: str
    counterpart: str
    payer: str
    outsider: str
    branch_headers: dict[str, str]
    counterpart_headers: dict[str, str]
    payer_headers: dict[str, str]
    outsider_headers: dict[str, str]
    no_scope_headers: dict[str, str]


async def parties(client: httpx.AsyncClient) -> Parties:
    """A BPJS branch, a KPU counterpart, a paying regency government and an unrelated branch.

    Every key holds agreements:write and reports:read except `no_scope_headers` (the branch's
    key with agreements:read only)."""
    branch = await party(client, "bpjs_branch", WRITE)
    counterpart = await party(client, "kpu", WRITE)
    payer = await party(client, "government", WRITE)
    outsider = await party(client, "bpjs_branch", WRITE)
    return Parties(
        branch=branch.organization_id,
        counterpart=counterpart.organization_id,
        payer=payer.organization_id,
        outsider=outsider.organization_id,
        branch_headers=branch.headers,
        counterpart_headers=counterpart.headers,
        payer_headers=payer.headers,
        outsider_headers=outsider.headers,
        no_scope_headers=await create_key(client, branch.organization_id, ["agreements:read"]),
    )


async def agreement_of(
    session: AsyncSession,
    who: Parties,
    *cohorts: CohortSpec,
    programs: tuple[str, ...] = ("JKK", "JKM"),
    region_code: str = "12.09",
    status: str = "active",
    election: str = "pilkada-2024",
) -> SeededAgreement:
    return await seed_agreement(
        session,
        bpjs_branch_id=who.branch,
        counterpart_id=who.counterpart,
        payer_id=who.payer,
        cohorts=cohorts or (KPPS,),
        programs=programs,
        region_code=region_code,
        status=status,
        election=election,
    )


_serial = itertools.cycle(range(1, 10_000))


def officer(**fields: Any) -> OfficerSpec:
    """An officer with a fresh NIK (serials repeat only after 9,999 officers)."""
    return OfficerSpec(nik=make_nik(serial=next(_serial)), **fields)


def officers(count: int, **fields: Any) -> list[OfficerSpec]:
    return [officer(**fields) for _ in range(count)]


def held(**fields: Any) -> OfficerSpec:
    return officer(
        status="held",
        conflict=held_conflict(),
        **fields,
    )


async def set_rate(
    session: AsyncSession,
    agreement: SeededAgreement,
    program: str,
    *,
    basis_points: int | None = None,
    flat_amount: int | None = None,
) -> None:
    await session.execute(
        text(
            "UPDATE agreement_rates SET basis_points = :bp, flat_amount = :flat "
            "WHERE agreement_id = :id AND program = :program"
        ),
        {"bp": basis_points, "flat": flat_amount, "id": agreement.id, "program": program},
    )


async def count_payments(session: AsyncSession, agreement: SeededAgreement) -> int:
    found = await session.scalar(
        text("SELECT count(*) FROM contribution_payments WHERE agreement_id = :id"),
        {"id": agreement.id},
    )
    return int(found or 0)


def by_month(lines: list[dict[str, Any]], role: str = "KPPS") -> dict[str, dict[str, Any]]:
    return {line["month"]: line for line in lines if line["role"] == role}


CLAIM_MOVES = {
    "submitted": [],
    "verified": ["verified"],
    "approved": ["verified", "approved"],
    "rejected": ["rejected"],
}


async def seed_claim(
    session: AsyncSession,
    agreement: SeededAgreement,
    registration_id: int,
    *,
    program: str,
    status: str,
    payable: int,
    entitlement: int = 0,
) -> None:
    """A claim inserted directly (a JKM death or a JKK work accident treated), then moved."""
    nik = await session.scalar(
        text("SELECT nik FROM registrations WHERE id = :id"), {"id": registration_id}
    )
    incident, outcome = ("death", "death") if program == "JKM" else ("work_accident", "treatment")
    claim_id = await session.scalar(
        text(
            "INSERT INTO claims (agreement_id, registration_id, nik, program, incident_type,"
            " incident_date, reported_at, place_region_code, place, chronology, on_duty, outcome,"
            " claimant_name, claimant_nik, claimant_relation, claimant_bank_name,"
            " claimant_bank_account, declared_wage, payable_total, entitlement_total)"
            " VALUES (:agreement, :registration, :nik, :program, :incident, DATE '2024-11-27',"
            " TIMESTAMPTZ '2024-11-27 20:00+07', '12.09.18', 'TPS 019', 'kronologi', true,"
            " :outcome, 'Ahli Waris', 1209185705900001, 'spouse', 'BRI', '0123456789',"
            " 1000000, :payable, :entitlement) RETURNING id"
        ),
        {
            "agreement": agreement.id,
            "registration": registration_id,
            "nik": nik,
            "program": program,
            "incident": incident,
            "outcome": outcome,
            "payable": payable,
            "entitlement": entitlement,
        },
    )
    for move in CLAIM_MOVES[status]:
        await session.execute(
            text("UPDATE claims SET status = :status WHERE id = :id"),
            {"status": move, "id": claim_id},
        )
