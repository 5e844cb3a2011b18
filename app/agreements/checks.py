"""Agreement and cohort input checked against the data: parties, region, election, periods, rates.

Each check answers 422 naming the field at fault (or 409 for overlapping cohorts).
"""

import itertools
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository
from app.agreements.exceptions import cohort_overlaps
from app.agreements.schemas import DEFAULT_RATES, PROGRAMS, CohortCreate, Program, Rate
from app.core.errors import invalid_field
from app.models import Election, OrganizationKind
from app.reference import service as reference

COUNTERPART_KINDS = (OrganizationKind.KPU, OrganizationKind.BAWASLU)
PAYER_KINDS = (OrganizationKind.KPU, OrganizationKind.BAWASLU, OrganizationKind.GOVERNMENT)
AGREEMENT_REGION_LEVELS = ("province", "regency")
# A cohort serves its election from 18 months before voting day to 6 months after.
WINDOW_MONTHS_BEFORE = 18
WINDOW_MONTHS_AFTER = 6


async def check_parties(
    session: AsyncSession,
    *,
    bpjs_branch_id: uuid.UUID | None,
    counterpart_id: uuid.UUID | None,
    payer_id: uuid.UUID | None,
) -> dict[uuid.UUID, str]:
    """The kinds of the named organizations, once each exists and is of a kind its role allows."""
    named = {
        "bpjs_branch_id": bpjs_branch_id,
        "counterpart_id": counterpart_id,
        "payer_id": payer_id,
    }
    kinds = await repository.organization_kinds(session, {v for v in named.values() if v})
    allowed: dict[str, tuple[str, ...]] = {
        "bpjs_branch_id": (OrganizationKind.BPJS_BRANCH,),
        "counterpart_id": COUNTERPART_KINDS,
        "payer_id": PAYER_KINDS,
    }
    for field, organization_id in named.items():
        if organization_id is None:
            continue
        kind = kinds.get(organization_id)
        if kind is None:
            invalid_field(
                "organization_not_found",
                f"No organization has the id given as {field}",
                ["body", field],
            )
        if kind not in allowed[field]:
            role = field.removesuffix("_id")
            invalid_field(
                f"{role}_wrong_kind",
                f"The {role.replace('_', ' ')} must be an organization of kind "
                f"{' or '.join(allowed[field])}, not {kind}",
                ["body", field],
            )
    return kinds


async def check_region(session: AsyncSession, code: str) -> None:
    region = await reference.find_region(session, code)
    if region is None:
        invalid_field("region_not_found", f"No region has the code {code}", ["body", "region_code"])
    if region.level not in AGREEMENT_REGION_LEVELS:
        invalid_field(
            "region_level_invalid",
            f"An agreement covers a province or a regency/city, not a {region.level}",
            ["body", "region_code"],
        )


async def get_election(session: AsyncSession, code: str) -> Election:
    found = await reference.elections_by_code(session, [code])
    if code not in found:
        invalid_field(
            "election_not_found", f"No election has the code {code}", ["body", "election"]
        )
    return found[code]


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def election_window(voting_day: date) -> tuple[date, date]:
    """The days a cohort of an election may cover: 18 months before voting day to 6 after."""
    return (
        _add_months(voting_day, -WINDOW_MONTHS_BEFORE),
        _add_months(voting_day, WINDOW_MONTHS_AFTER),
    )


def check_period(start: date, end: date, election: Election, loc: Sequence[str | int]) -> None:
    if end < start:
        invalid_field(
            "cohort_period_invalid",
            f"The cohort ends ({end}) before it starts ({start})",
            [*loc, "coverage_end"],
        )
    first, last = election_window(election.voting_day)
    if start < first or end > last:
        invalid_field(
            "cohort_outside_election_window",
            f"A cohort of {election.code} (voting day {election.voting_day}) must lie between "
            f"{first} and {last}",
            [*loc, "coverage_start" if start < first else "coverage_end"],
        )


async def cohort_rows(
    session: AsyncSession,
    *,
    cohorts: Sequence[CohortCreate],
    counterpart_kind: str,
    default_election: str,
    loc: Callable[[int], list[str | int]],
) -> list[dict[str, Any]]:
    """Checked cohort rows ready to insert; 422 naming the first bad field, 409 on overlaps."""
    roles = await reference.roles_by_code(session, {cohort.role for cohort in cohorts})
    bodies = {code: role.body for code, role in roles.items()}
    elections = await reference.elections_by_code(
        session, {cohort.election or default_election for cohort in cohorts}
    )
    rows = []
    for index, cohort in enumerate(cohorts):
        body = bodies.get(cohort.role)
        if body is None:
            invalid_field(
                "role_not_found", f"No role has the code {cohort.role}", [*loc(index), "role"]
            )
        if body not in ("any", counterpart_kind):
            invalid_field(
                "role_wrong_body",
                f"{cohort.role} is a {body.upper()} role; this agreement's counterpart is "
                f"{counterpart_kind.upper()}",
                [*loc(index), "role"],
            )
        election_code = cohort.election or default_election
        election = elections.get(election_code)
        if election is None:
            invalid_field(
                "election_not_found",
                f"No election has the code {election_code}",
                [*loc(index), "election"],
            )
        check_period(cohort.coverage_start, cohort.coverage_end, election, loc(index))
        rows.append(
            {
                "role_code": cohort.role,
                "election_code": election_code,
                "planned_headcount": cohort.planned_headcount,
                "coverage_start": cohort.coverage_start,
                "coverage_end": cohort.coverage_end,
                "declared_wage": cohort.declared_wage,
            }
        )
    _check_no_overlap(rows)
    return rows


def _check_no_overlap(rows: Sequence[dict[str, Any]]) -> None:
    by_role: dict[str, list[tuple[date, date]]] = {}
    for row in rows:
        by_role.setdefault(row["role_code"], []).append(
            (row["coverage_start"], row["coverage_end"])
        )
    for periods in by_role.values():
        periods.sort()
        for (_, end), (start, _) in itertools.pairwise(periods):
            if start <= end:
                raise cohort_overlaps()


def programs_of(values: Sequence[str]) -> list[Program]:
    return [program for program in PROGRAMS if program in values]


def rate_rows(programs: Collection[Program], rates: dict[Program, Rate]) -> list[dict[str, Any]]:
    extra = sorted(set(rates) - set(programs))
    if extra:
        invalid_field(
            "rate_program_not_covered",
            f"A rate is given for {', '.join(extra)}, which the agreement does not cover",
            ["body", "rates", extra[0]],
        )
    return [
        {"program": program, **rates.get(program, DEFAULT_RATES[program]).model_dump()}
        for program in sorted(programs)
    ]
