"""The database itself refuses reference rows that break the rules."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import BenefitSchedule, Election, Region, Role, RoleAgeLimit


async def refused(session: AsyncSession, row: Any) -> str:
    """The constraint that refused `row`, in a savepoint so the test's transaction survives."""
    with pytest.raises(IntegrityError) as caught:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    return str(getattr(caught.value.orig, "__cause__", None) or caught.value.orig)


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        (Region(code="12.99", name="X", level="kota", parent_code="12"), "ck_regions_level"),
        (
            Region(code="12.99", name="X", level="province", parent_code="12"),
            "ck_regions_level_matches_code",
        ),
        (
            Region(code="12.99.01", name="X", level="regency", parent_code="12"),
            "ck_regions_level_matches_code",
        ),
        (
            Region(code="12.99", name="X", level="regency", parent_code="16"),
            "ck_regions_parent_matches_code",
        ),
        (Region(code="99", name="X", level="province", parent_code="12"), "parent_matches_code"),
        (
            Region(code="12.9", name="X", level="regency", parent_code="12"),
            "ck_regions_code_format",
        ),
        (Region(code="12.99", name="", level="regency", parent_code="12"), "name_length"),
        (Region(code="12.09", name="Dup", level="regency", parent_code="12"), "pk_regions"),
    ],
)
async def test_database_refuses_bad_regions(
    session: AsyncSession, row: Region, constraint: str
) -> None:
    assert constraint in await refused(session, row)


async def test_a_well_formed_region_is_accepted(session: AsyncSession) -> None:
    session.add(Region(code="12.99", name="Kabupaten Baru", level="regency", parent_code="12"))
    await session.flush()  # the checks above are not refusing everything


def pp82_line(**overrides: Any) -> BenefitSchedule:
    values: dict[str, Any] = {
        "program": "JKM",
        "code": "JKM_LUMP_SUM",
        "name": "Santunan sekaligus",
        "calculation": "fixed",
        "applies_to": "death",
        "amount": 25_000_000,
        "legal_basis": "test",
        "effective_from": date(2026, 1, 1),
    }
    return BenefitSchedule(**(values | overrides))


async def test_overlapping_schedules_for_one_code_are_refused(session: AsyncSession) -> None:
    # PP 82/2019's JKM_LUMP_SUM is in force from 2019-12-02 with no end.
    assert "ex_benefit_schedules_code_in_force" in await refused(session, pp82_line())


async def test_a_new_version_after_closing_the_old_one_is_accepted(session: AsyncSession) -> None:
    session.add(pp82_line(code="JKM_TEST", effective_to=date(2026, 12, 31)))
    session.add(pp82_line(code="JKM_TEST", effective_from=date(2027, 1, 1)))
    await session.flush()
    overlapping = pp82_line(code="JKM_TEST", effective_from=date(2026, 12, 31))
    assert "ex_benefit_schedules_code_in_force" in await refused(session, overlapping)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"code": "X1", "program": "JHT"}, "ck_benefit_schedules_program"),
        ({"code": "X2", "calculation": "guess"}, "ck_benefit_schedules_calculation"),
        ({"code": "X3", "amount": None}, "ck_benefit_schedules_calculation_inputs"),
        (
            {"code": "X4", "calculation": "wage_multiple", "amount": None},
            "ck_benefit_schedules_calculation_inputs",
        ),
        (
            {"code": "X5", "effective_to": date(2025, 12, 31)},
            "ck_benefit_schedules_effective_range",
        ),
    ],
)
async def test_database_refuses_bad_schedule_lines(
    session: AsyncSession, overrides: dict[str, Any], constraint: str
) -> None:
    assert constraint in await refused(session, pp82_line(**overrides))


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        (
            Role(code="X", body="kpu", level="tps", name="X", min_age=16),
            "ck_roles_min_age",
        ),
        (
            Role(code="X", body="dpr", level="tps", name="X", min_age=17),
            "ck_roles_body",
        ),
        (
            Role(code="X", body="kpu", level="rt", name="X", min_age=17),
            "ck_roles_level",
        ),
        (
            RoleAgeLimit(election_code="pilkada-2024", role_code="KPPS", min_age=30, max_age=20),
            "ck_role_age_limits_age_range",
        ),
        (
            RoleAgeLimit(election_code="pilkada-2024", role_code="NOPE", min_age=17),
            "fk_role_age_limits_role_code_roles",
        ),
        (
            Election(code="Pemilu 2029", name="X", voting_day=date(2029, 2, 14)),
            "ck_elections_code_format",
        ),
    ],
)
async def test_database_refuses_bad_roles_and_limits(
    session: AsyncSession, row: Any, constraint: str
) -> None:
    assert constraint in await refused(session, row)
