"""The database itself refusing registrations that break the rules, whatever the API does."""

import json
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import translate_integrity_error
from app.main import CONSTRAINT_ERRORS
from tests.registrations.helpers import KPPS, PKD, PTPS, state, world
from tests.seed import OfficerSpec, held_conflict, make_nik, register

REFUSAL_CODES = {"ended_on": "termination_date_invalid", "period": "period_invalid"}


def constraint_of(error: pytest.ExceptionInfo[IntegrityError]) -> str | None:
    cause = error.value.orig.__cause__ if error.value.orig is not None else None
    return getattr(cause, "constraint_name", None)


async def refusal(
    session: AsyncSession, statement: str, values: dict[str, Any]
) -> pytest.ExceptionInfo[IntegrityError]:
    """The database's refusal of one SQL statement, in a savepoint that leaves the session
    usable."""
    with pytest.raises(IntegrityError) as error:
        async with session.begin_nested():
            await session.execute(text(statement), values)
    return error


async def test_two_overlapping_covering_registrations_of_one_nik_are_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    nik = make_nik(serial=9)
    await register(session, w.bawaslu, PTPS, OfficerSpec(nik=nik))
    # A held or rejected one may overlap: it covers nothing.
    await register(
        session, w.kpu, KPPS, OfficerSpec(nik=nik, status="held", conflict=held_conflict())
    )
    for status, ended_on in (("active", None), ("terminated", date(2024, 12, 20))):
        with pytest.raises(IntegrityError) as error:
            async with session.begin_nested():
                await register(
                    session,
                    w.bawaslu,
                    PKD,
                    OfficerSpec(nik=nik, status=status, ended_on=ended_on, tps=None),
                )
        assert constraint_of(error) == "ex_registrations_nik_coverage", status


async def test_non_overlapping_periods_of_one_nik_are_allowed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    nik = make_nik(serial=10)
    # PTPS ends the day before KPPS starts (Nov 15): the transfer's outcome, held by the database.
    await register(
        session,
        w.bawaslu,
        PTPS,
        OfficerSpec(nik=nik, status="terminated", ended_on=date(2024, 11, 14)),
    )
    assert len(await register(session, w.kpu, KPPS, OfficerSpec(nik=nik))) == 1


async def test_ended_on_before_the_day_before_the_start_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    # KPPS starts 2024-11-15. An end before 11-14 would make the generated coverage range's
    # bounds reversed: the named checks refuse it (not daterange with a bare data exception),
    # and the API answers their codes, whatever path wrote the row.
    refused = [
        (OfficerSpec(nik=make_nik(), status="terminated", ended_on=date(2024, 11, 13)), "ended_on"),
        (OfficerSpec(nik=make_nik(), status="terminated", ended_on=date(2023, 1, 1)), "ended_on"),
        (OfficerSpec(nik=make_nik(), coverage_end=date(2024, 11, 13)), "period"),
    ]
    for officer, check in refused:
        with pytest.raises(IntegrityError) as error:
            async with session.begin_nested():
                await register(session, w.kpu, KPPS, officer)
        assert constraint_of(error) == f"ck_registrations_{check}", officer
        translated = translate_integrity_error(error.value, CONSTRAINT_ERRORS)
        assert translated.status == 422
        assert translated.code == REFUSAL_CODES[check]
    # A later UPDATE is refused the same way, and the row keeps its values.
    (active,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=3)))
    error = await refusal(
        session,
        "UPDATE registrations SET status = 'terminated', ended_on = '2024-11-01' WHERE id = :id",
        {"id": active},
    )
    assert constraint_of(error) == "ck_registrations_ended_on"
    assert (await state(session, active))["status"] == "active"
    # The day before the start is the earliest end: an empty range, never covered.
    (never,) = await register(
        session,
        w.kpu,
        KPPS,
        OfficerSpec(nik=make_nik(), status="terminated", ended_on=date(2024, 11, 14)),
    )
    assert await session.scalar(
        text("SELECT isempty(coverage) FROM registrations WHERE id = :id"), {"id": never}
    )
    # A terminated registration needs its date.
    with pytest.raises(IntegrityError) as integrity:
        async with session.begin_nested():
            await register(
                session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=2), status="terminated")
            )
    assert constraint_of(integrity) == "ck_registrations_end_date"


async def test_a_conflict_names_body_role_and_period_and_nothing_else(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    full = held_conflict()
    refused: list[object] = [
        {key: value for key, value in full.items() if key != "coverage_end"},
        {**full, "role": None},
        # The other person's data never goes in, nor keys readers do not know.
        {**full, "full_name": "Budi"},
        {"body": "bawaslu", "role": "PTPS", "from": "2024-11-01", "to": "2024-12-31"},
        [full],
        # JSON null is no conflict at all (held_conflict only asks for SQL NOT NULL).
        None,
    ]
    for serial, conflict in enumerate(refused, start=20):
        error = await refusal(
            session,
            "INSERT INTO registrations (nik, agreement_id, cohort_id, role_code, full_name, "
            "birth_date, region_code, coverage_start, coverage_end, status, conflict) VALUES "
            "(:nik, :agreement, :cohort, 'KPPS', 'Ani', '1990-05-17', '12.09.18.2002', "
            "'2024-11-15', '2024-12-31', 'held', CAST(:conflict AS jsonb))",
            {
                "nik": make_nik(serial=serial),
                "agreement": w.kpu.id,
                "cohort": w.kpu.cohorts["KPPS"],
                "conflict": json.dumps(conflict),
            },
        )
        assert constraint_of(error) == "ck_registrations_conflict", conflict


INSERT_KPPS = (
    "INSERT INTO registrations (nik, agreement_id, cohort_id, role_code, full_name, birth_date, "
    "region_code, coverage_start, coverage_end, batch_id, replaces_id) VALUES (:nik, "
    ":agreement, :cohort, :role, 'Ani', '1990-05-17', :region, '2024-11-15', '2024-12-31', "
    ":batch, :replaces)"
)


async def test_a_registration_that_refers_to_a_missing_row_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The references are checked once per statement (migration 0008), by the names the
    foreign keys had: the cohort with its agreement and role, the region, the batch, the
    registration replaced."""
    w = await world(client, session)
    good = {
        "agreement": w.kpu.id,
        "cohort": w.kpu.cohorts["KPPS"],
        "role": "KPPS",
        "region": "12.09.18.2002",
        "batch": None,
        "replaces": None,
    }
    refused: list[tuple[dict[str, object], str]] = [
        ({"role": "PPK"}, "fk_registrations_cohort_identity"),
        ({"agreement": w.bawaslu.id}, "fk_registrations_cohort_identity"),
        ({"region": "12.09.18.9999"}, "fk_registrations_region_code_regions"),
        ({"batch": uuid.uuid4()}, "fk_registrations_batch_id_roster_batches"),
        ({"replaces": 10**12}, "fk_registrations_replaces_id_registrations"),
    ]
    for serial, (change, constraint) in enumerate(refused, start=40):
        error = await refusal(
            session, INSERT_KPPS, {**good, **change, "nik": make_nik(serial=serial)}
        )
        assert constraint_of(error) == constraint, change
        translated = translate_integrity_error(error.value, CONSTRAINT_ERRORS)
        assert translated.code == "reference_not_found"
    # The same rules hold for an UPDATE, and one bad row refuses the whole statement.
    (first,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=50)))
    (second,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=51)))
    error = await refusal(
        session,
        "UPDATE registrations SET region_code = CASE WHEN id = :second "
        "THEN '99.99' ELSE region_code END WHERE id IN (:first, :second)",
        {"first": first, "second": second},
    )
    assert constraint_of(error) == "fk_registrations_region_code_regions"
    regions = await session.scalars(
        text("SELECT region_code FROM registrations WHERE id IN (:first, :second)"),
        {"first": first, "second": second},
    )
    assert set(regions) == {"12.09.18.2002"}


async def test_referenced_rows_are_never_deleted_and_keep_their_keys(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    w = await world(client, session)
    (registration,) = await register(session, w.kpu, KPPS, OfficerSpec(nik=make_nik(serial=60)))
    cohort = w.kpu.cohorts["KPPS"]
    refused: list[tuple[str, dict[str, Any], str]] = [
        ("DELETE FROM registrations WHERE id = :id", {"id": registration}, "registrations_kept"),
        ("DELETE FROM cohorts WHERE id = :id", {"id": cohort}, "cohorts_kept"),
        ("DELETE FROM regions WHERE code = '12.09.18.2002'", {}, "regions_kept"),
        ("UPDATE cohorts SET role_code = 'PPS' WHERE id = :id", {"id": cohort},
         "cohorts_key_fixed"),
        ("UPDATE regions SET code = '12.09.18.2999' WHERE code = '12.09.18.2002'", {},
         "regions_key_fixed"),
        ("UPDATE registrations SET id = id + 1000 WHERE id = :id", {"id": registration},
         "registrations_key_fixed"),
    ]  # fmt: skip
    for statement, values, constraint in refused:
        error = await refusal(session, statement, values)
        assert constraint_of(error) == constraint, statement
    assert (await state(session, registration))["status"] == "active"
    # What refers to nothing may still change: a cohort's headcount, a region's name.
    await session.execute(
        text("UPDATE cohorts SET planned_headcount = 7 WHERE id = :id"), {"id": cohort}
    )
