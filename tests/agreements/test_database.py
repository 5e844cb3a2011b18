"""The database itself refuses bad agreements, rates and cohorts, whatever code writes them."""

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, AgreementRate, Cohort
from tests.agreements.helpers import Parties
from tests.seed import CohortSpec, OfficerSpec, make_nik, seed_agreement, seed_registrations


async def refused(session: AsyncSession, table: Any, row: dict[str, Any]) -> str:
    """Insert `row` in a savepoint, expect the database to refuse it; the constraint's name."""
    with pytest.raises(IntegrityError) as caught:
        async with session.begin_nested():
            await session.execute(insert(table), [row])
    return str(getattr(caught.value.orig, "__cause__", None) or caught.value.orig)


def cohort(agreement_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    row = {
        "agreement_id": agreement_id,
        "role_code": "KPPS",
        "election_code": "pilkada-2024",
        "planned_headcount": 10,
        "coverage_start": date(2025, 1, 1),
        "coverage_end": date(2025, 1, 31),
    }
    return row | overrides


async def test_database_refuses_bad_cohorts(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    seeded = await seed_agreement(
        session,
        bpjs_branch_id=p.branch.organization_id,
        counterpart_id=p.kpu.organization_id,
        cohorts=(CohortSpec(role="KPPS"),),  # 2024-11-01 .. 2024-12-31
    )
    a = seeded.id
    end_before_start = cohort(a, coverage_start=date(2025, 1, 31), coverage_end=date(2025, 1, 1))
    assert "ck_cohorts_period" in await refused(session, Cohort, end_before_start)
    overlapping = cohort(a, coverage_start=date(2024, 12, 31))
    assert "ex_cohorts_role_period" in await refused(session, Cohort, overlapping)
    assert "planned_headcount" in await refused(session, Cohort, cohort(a, planned_headcount=-1))
    assert "declared_wage" in await refused(session, Cohort, cohort(a, declared_wage=0))
    assert "fk" in await refused(session, Cohort, cohort(a, role_code="CAMAT"))
    # the same role right after, and another role in the same period, are fine
    async with session.begin_nested():
        await session.execute(insert(Cohort), [cohort(a), cohort(a, role_code="PPS")])


async def test_database_refuses_bad_agreements_and_rates(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    def agreement(**overrides: Any) -> dict[str, Any]:
        row = {
            "number": f"PKS/{uuid.uuid4().hex[:6]}",
            "bpjs_branch_id": uuid.UUID(p.branch.organization_id),
            "counterpart_id": uuid.UUID(p.kpu.organization_id),
            "payer_id": uuid.UUID(p.kpu.organization_id),
            "election_code": "pilkada-2024",
            "region_code": "12.09",
            "programs": ["JKK", "JKM"],
        }
        return row | overrides

    assert "ck_agreements_programs" in await refused(
        session, Agreement, agreement(programs=["JKN"])
    )
    assert "ck_agreements_programs" in await refused(session, Agreement, agreement(programs=[]))
    assert "ck_agreements_status" in await refused(
        session, Agreement, agreement(status="paused", signed_on=date(2024, 11, 11))
    )
    assert "ck_agreements_ended_on" in await refused(session, Agreement, agreement(status="ended"))
    assert "ck_agreements_ended_on" in await refused(
        session, Agreement, agreement(ended_on=date(2025, 1, 1))
    )
    assert "ck_agreements_distinct_parties" in await refused(
        session, Agreement, agreement(counterpart_id=uuid.UUID(p.branch.organization_id))
    )
    taken = agreement()
    async with session.begin_nested():
        await session.execute(insert(Agreement), [taken])
    assert "number" in await refused(session, Agreement, agreement(number=taken["number"]))

    seeded = await seed_agreement(
        session, bpjs_branch_id=p.branch.organization_id, counterpart_id=p.kpu.organization_id
    )
    rate = {"agreement_id": seeded.id}
    assert "ck_agreement_rates_program" in await refused(
        session, AgreementRate, rate | {"program": "JKN", "basis_points": 1}
    )
    assert "ck_agreement_rates_one_rate" in await refused(
        session, AgreementRate, rate | {"program": "JKK", "basis_points": 1, "flat_amount": 1}
    )
    assert "pk" in await refused(
        session, AgreementRate, rate | {"program": "JKK", "basis_points": 1}
    )


async def test_database_refuses_unsigned_active_and_end_before_signing(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    row = {
        "number": "PKS/UNSIGNED",
        "bpjs_branch_id": uuid.UUID(p.branch.organization_id),
        "counterpart_id": uuid.UUID(p.kpu.organization_id),
        "payer_id": uuid.UUID(p.kpu.organization_id),
        "election_code": "pilkada-2024",
        "region_code": "12.09",
        "programs": ["JKK"],
    }
    assert "ck_agreements_signed_when_active" in await refused(
        session, Agreement, row | {"status": "active"}
    )
    ended_early = row | {
        "status": "ended",
        "signed_on": date(2024, 11, 11),
        "ended_on": date(2024, 11, 10),
    }
    assert "ck_agreements_ended_after_signed" in await refused(session, Agreement, ended_early)
    assert "ck_agreements_signed_place_length" in await refused(
        session, Agreement, row | {"signed_place": ""}
    )


async def test_ending_an_agreement_in_sql_ends_its_coverage(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    seeded = await seed_agreement(
        session, bpjs_branch_id=p.branch.organization_id, counterpart_id=p.kpu.organization_id
    )
    ids = await seed_registrations(
        session,
        agreement=seeded,
        role="KPPS",
        officers=[OfficerSpec(make_nik(serial=1)), OfficerSpec(make_nik(serial=2))],
    )
    await session.execute(
        text(
            "UPDATE registrations SET ended_on = '2024-11-10', status = 'terminated' WHERE id = :id"
        ),
        {"id": ids[1]},
    )

    # Not through the service: the database keeps the rule whoever ends the agreement.
    await session.execute(
        text("UPDATE agreements SET status = 'ended', ended_on = '2024-11-30' WHERE id = :id"),
        {"id": seeded.id},
    )

    rows = await session.execute(
        text(
            "SELECT status, ended_on, end_reason FROM registrations "
            "WHERE id = ANY(:ids) ORDER BY id"
        ),
        {"ids": ids},
    )
    assert [tuple(row) for row in rows] == [
        ("terminated", date(2024, 11, 30), "agreement ended"),
        ("terminated", date(2024, 11, 10), None),  # already over: left as it was
    ]
