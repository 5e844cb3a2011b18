"""One death per officer and one claim per incident, through the API and in the database."""

from collections.abc import Coroutine
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.claims.helpers import World, claimant, file, jkk, jkm, move, world


@pytest.fixture
async def w(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


def jkk_death(registration_id: int) -> dict[str, object]:
    return jkk(registration_id, outcome="death", claimant=claimant("spouse"))


async def test_jkm_after_a_jkk_death_is_a_duplicate(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer()
    await file(client, w.counterpart, jkk_death(registration_id))
    problem = await file(
        client, w.payer, jkm(registration_id, incident_date="2024-11-28", incident_at=None), 409
    )
    assert (problem["code"], problem["duplicate_of"]) == ("duplicate_claim", "death")


async def test_jkk_death_after_jkm_is_a_duplicate(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer()
    await file(client, w.counterpart, jkm(registration_id))
    problem = await file(client, w.branch, jkk_death(registration_id), 409)
    assert (problem["code"], problem["duplicate_of"]) == ("duplicate_claim", "death")


async def test_one_death_per_nik_across_registrations(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    # The same person in the 1,000,000 cohort until 15 November, then in the other.
    first, nik = await w.officer(coverage_end=date(2024, 11, 15))
    second = await session.scalar(
        text(
            "INSERT INTO registrations (nik, agreement_id, cohort_id, role_code, full_name, "
            "birth_date, region_code, coverage_start, coverage_end) "
            "SELECT nik, agreement_id, :cohort, 'PPS', full_name, birth_date, region_code, "
            "'2024-11-16', '2024-12-31' FROM registrations WHERE id = :id RETURNING id"
        ),
        {"id": first, "cohort": w.agreement.cohorts["PPS"]},
    )
    await file(
        client,
        w.counterpart,
        jkm(
            first,
            incident_date="2024-11-10",
            incident_at=None,
            reported_at="2024-11-10T12:00:00+07:00",
        ),
    )
    problem = await file(client, w.counterpart, jkm(second), 409)
    assert problem["duplicate_of"] == "death"
    assert nik  # the index is on the NIK, not on the registration


async def test_same_incident_twice_is_a_duplicate_other_incidents_are_not(
    client: httpx.AsyncClient, w: World
) -> None:
    registration_id, _ = await w.officer()
    await file(client, w.counterpart, jkk(registration_id))
    again = jkk(registration_id, outcome="temporary_incapacity", incapacity_months=2)
    problem = await file(client, w.payer, again, 409)
    assert (problem["code"], problem["duplicate_of"]) == ("duplicate_claim", "incident")
    # Another day, or another kind of incident the same day, is another claim.
    await file(client, w.counterpart, jkk(registration_id, incident_date="2024-11-26"))
    await file(client, w.counterpart, jkk(registration_id, incident_type="commuting_accident"))


async def test_a_rejected_claim_may_be_filed_again(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkm(registration_id))
    rejected = await move(
        client, w.branch, claim["id"], '"1"', {"to": "rejected", "note": "Data ahli waris salah"}
    )
    assert rejected.status_code == 200
    await file(client, w.counterpart, jkm(registration_id))


INSERT_CLAIM = text(
    "INSERT INTO claims (agreement_id, registration_id, nik, program, incident_type, "
    "incident_date, reported_at, place_region_code, place, chronology, on_duty, outcome, "
    "claimant_name, claimant_nik, claimant_relation, claimant_bank_name, "
    "claimant_bank_account, declared_wage, payable_total, entitlement_total, status) "
    "SELECT agreement_id, id, nik, :program, :incident_type, :day, now(), "
    "'12.09', 'x', 'x', true, :outcome, 'x', 3171015708850002, 'spouse', 'BRI', '1', "
    "1000000, 0, 0, :status FROM registrations WHERE id = :registration_id RETURNING id"
)


async def insert_claim(
    session: AsyncSession,
    registration_id: int,
    *,
    program: str = "JKM",
    incident_type: str = "death",
    outcome: str = "death",
    day: date = date(2024, 11, 27),
    status: str = "submitted",
) -> object:
    return await session.scalar(
        INSERT_CLAIM,
        {
            "registration_id": registration_id,
            "program": program,
            "incident_type": incident_type,
            "outcome": outcome,
            "day": day,
            "status": status,
        },
    )


async def refused(
    session: AsyncSession, constraint: str, statement: Coroutine[Any, Any, object]
) -> None:
    """`statement` fails with an IntegrityError naming `constraint`."""
    with pytest.raises(IntegrityError) as caught:
        async with session.begin_nested():
            await statement
    cause = getattr(caught.value.orig, "__cause__", None)  # the asyncpg error
    assert getattr(cause, "constraint_name", None) == constraint, caught.value


async def test_the_database_refuses_a_second_death_for_a_nik(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, _ = await w.officer()
    await insert_claim(session, registration_id)
    await refused(
        session,
        "uq_claims_death",
        insert_claim(
            session,
            registration_id,
            program="JKK",
            incident_type="work_accident",
            day=date(2024, 11, 28),
        ),
    )
    treatment = {"program": "JKK", "incident_type": "commuting_accident", "outcome": "treatment"}
    await insert_claim(session, registration_id, **treatment)  # type: ignore[arg-type]
    again = insert_claim(session, registration_id, **treatment)  # type: ignore[arg-type]
    await refused(session, "uq_claims_incident", again)


async def test_the_database_refuses_claims_the_rules_exclude(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, _ = await w.officer()
    # Outside the registration's coverage.
    await refused(
        session, "ck_claims_covered", insert_claim(session, registration_id, day=date(2025, 1, 1))
    )
    # A work-related death under JKM.
    await refused(
        session,
        "ck_claims_program_incident",
        insert_claim(session, registration_id, incident_type="work_accident"),
    )
    # A claim that starts anywhere but submitted.
    await refused(
        session,
        "ck_claims_starts_submitted",
        insert_claim(session, registration_id, status="approved"),
    )
    # A JKM claim under an agreement without JKM.
    only_jkk = await world(client, session, programs=("JKK",))
    other, _ = await only_jkk.officer()
    await refused(session, "ck_claims_covered", insert_claim(session, other))


async def test_the_database_keeps_the_workflow(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkm(registration_id))
    params = {"id": claim["id"]}
    skip = text("UPDATE claims SET status = 'approved' WHERE id = :id")
    await refused(session, "ck_claims_transition", session.execute(skip, params))
    await session.execute(text("UPDATE claims SET status = 'verified' WHERE id = :id"), params)
    approve = text("UPDATE claims SET status = 'approved' WHERE id = :id")
    await refused(session, "ck_claims_documents_received", session.execute(approve, params))
    pay_without_details = text(
        "UPDATE claims SET status = 'rejected', paid_on = '2024-12-01' WHERE id = :id"
    )
    await refused(session, "ck_claims_paid", session.execute(pay_without_details, params))
    bad_event = text(
        "INSERT INTO claim_events (claim_id, from_status, to_status) "
        "VALUES (:id, 'submitted', 'paid')"
    )
    await refused(session, "ck_claim_events_move", session.execute(bad_event, params))
    no_reason = text(
        "INSERT INTO claim_events (claim_id, from_status, to_status) "
        "VALUES (:id, 'verified', 'rejected')"
    )
    await refused(session, "ck_claim_events_rejection_note", session.execute(no_reason, params))
    bad_kind = text(
        "INSERT INTO claim_documents (claim_id, kind, required) VALUES (:id, 'selfie', true)"
    )
    await refused(session, "ck_claim_documents_kind", session.execute(bad_kind, params))
