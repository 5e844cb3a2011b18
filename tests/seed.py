"""Direct inserts for test setup where the API that would create the data is not the subject.

The `session` fixture shares the app's connection and transaction, so rows flushed here are
visible to requests made through `client` in the same test, and rolled back after it.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, AgreementRate, Cohort, Registration


def make_nik(
    district: str = "12.09.18",
    birth_date: date = date(1990, 5, 17),
    sex: str = "L",
    serial: int = 1,
) -> int:
    """A valid NIK for a person born in `district` (dotted, e.g. 12.09.18)."""
    day = birth_date.day + (40 if sex == "P" else 0)
    digits = district.replace(".", "") + f"{day:02d}{birth_date:%m%y}" + f"{serial:04d}"
    assert len(digits) == 16
    return int(digits)


@dataclass
class CohortSpec:
    role: str = "KPPS"
    coverage_start: date = date(2024, 11, 1)
    coverage_end: date = date(2024, 12, 31)
    planned_headcount: int = 100
    declared_wage: int = 1_000_000
    election: str | None = None


@dataclass
class SeededAgreement:
    id: uuid.UUID
    number: str
    cohorts: dict[str, uuid.UUID] = field(default_factory=dict)


async def seed_agreement(
    session: AsyncSession,
    *,
    bpjs_branch_id: uuid.UUID | str,
    counterpart_id: uuid.UUID | str,
    payer_id: uuid.UUID | str | None = None,
    election: str = "pilkada-2024",
    region_code: str = "12.09",
    status: str = "active",
    programs: Sequence[str] = ("JKK", "JKM"),
    cohorts: Sequence[CohortSpec] = (CohortSpec(),),
    number: str | None = None,
) -> SeededAgreement:
    """An agreement with the default rates (JKK 100 bp, JKM flat 6,800) and its cohorts."""
    agreement = Agreement(
        number=number or f"PKS/{uuid.uuid4().hex[:10]}",
        bpjs_branch_id=uuid.UUID(str(bpjs_branch_id)),
        counterpart_id=uuid.UUID(str(counterpart_id)),
        payer_id=uuid.UUID(str(payer_id or counterpart_id)),
        election_code=election,
        region_code=region_code,
        signed_on=date(2024, 10, 28),
        programs=list(programs),
        status=status,
        ended_on=date(2025, 1, 31) if status == "ended" else None,
    )
    session.add(agreement)
    await session.flush()
    session.add_all(
        [
            AgreementRate(agreement_id=agreement.id, program="JKK", basis_points=100),
            AgreementRate(agreement_id=agreement.id, program="JKM", flat_amount=6_800),
        ]
    )
    seeded = SeededAgreement(agreement.id, agreement.number)
    for spec in cohorts:
        cohort = Cohort(
            agreement_id=agreement.id,
            role_code=spec.role,
            election_code=spec.election or election,
            planned_headcount=spec.planned_headcount,
            coverage_start=spec.coverage_start,
            coverage_end=spec.coverage_end,
            declared_wage=spec.declared_wage,
        )
        session.add(cohort)
        await session.flush()
        seeded.cohorts[spec.role] = cohort.id
    return seeded


def held_conflict(
    body: str = "bawaslu",
    role: str = "PTPS",
    coverage_start: date = date(2024, 11, 1),
    coverage_end: date = date(2024, 12, 31),
) -> dict[str, object]:
    """A held registration's conflict as the rosters write it (ck_registrations_conflict)."""
    return {
        "body": body,
        "role": role,
        "coverage_start": coverage_start.isoformat(),
        "coverage_end": coverage_end.isoformat(),
    }


@dataclass
class OfficerSpec:
    nik: int
    full_name: str = "Ani Setiawan"
    birth_date: date = date(1990, 5, 17)
    sex: str | None = "L"
    region_code: str = "12.09.18.2002"
    tps: str | None = "019"
    position: str | None = "anggota"
    coverage_start: date | None = None
    coverage_end: date | None = None
    status: str = "active"
    ended_on: date | None = None
    conflict: dict[str, object] | None = None
    conflict_registration_id: int | None = None


async def seed_registrations(
    session: AsyncSession,
    *,
    agreement: SeededAgreement,
    role: str,
    officers: Sequence[OfficerSpec],
    cohort: CohortSpec | None = None,
) -> list[int]:
    """Registrations in the agreement's cohort for `role`; their ids in the given order."""
    spec = cohort or CohortSpec(role=role)
    rows = [
        {
            "nik": officer.nik,
            "agreement_id": agreement.id,
            "cohort_id": agreement.cohorts[role],
            "role_code": role,
            "position": officer.position,
            "full_name": officer.full_name,
            "birth_date": officer.birth_date,
            "sex": officer.sex,
            "region_code": officer.region_code,
            "tps": officer.tps,
            "coverage_start": officer.coverage_start or spec.coverage_start,
            "coverage_end": officer.coverage_end or spec.coverage_end,
            "status": officer.status,
            "ended_on": officer.ended_on,
            "conflict": officer.conflict,
            "conflict_registration_id": officer.conflict_registration_id,
        }
        for officer in officers
    ]
    result = await session.execute(insert(Registration).returning(Registration.id), rows)
    return list(result.scalars())


async def register(
    session: AsyncSession, agreement: SeededAgreement, cohort: CohortSpec, *officers: OfficerSpec
) -> list[int]:
    """Registrations of `officers` in the agreement's cohort of `cohort`'s role and period."""
    return await seed_registrations(
        session, agreement=agreement, role=cohort.role, officers=officers, cohort=cohort
    )
