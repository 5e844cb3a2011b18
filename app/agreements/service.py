"""Agreements (PKS) and their cohorts: creation, lifecycle, checks against the data.

Other domains import `get_visible_agreement` (who sees what is agreements/access.py); the rest
serves the endpoints.
"""

import itertools
import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import date
from typing import Any, NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access, repository
from app.agreements.access import PartyRole
from app.agreements.exceptions import agreement_number_exists, cohort_overlaps, translated
from app.agreements.schemas import (
    DEFAULT_RATES,
    PROGRAMS,
    AgreementCreate,
    AgreementRead,
    AgreementStatus,
    AgreementUpdate,
    CohortCreate,
    CohortRead,
    CohortUpdate,
    Program,
    Rate,
)
from app.core import audit
from app.core.auth import Principal
from app.core.errors import (
    AppError,
    Forbidden,
    InvalidState,
    NotFound,
    PreconditionFailed,
    invalid_field,
)
from app.core.pagination import Page, keyset_page
from app.core.versions import check_version, etag, if_match_versions
from app.models import Agreement, AgreementRate, Cohort, Election, OrganizationKind
from app.reference import service as reference

COUNTERPART_KINDS = (OrganizationKind.KPU, OrganizationKind.BAWASLU)
PAYER_KINDS = (OrganizationKind.KPU, OrganizationKind.BAWASLU, OrganizationKind.GOVERNMENT)
AGREEMENT_REGION_LEVELS = ("province", "regency")
# A cohort serves its election from 18 months before voting day to 6 months after.
WINDOW_MONTHS_BEFORE = 18
WINDOW_MONTHS_AFTER = 6

# action -> (statuses it starts from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "activate": ((AgreementStatus.DRAFT,), AgreementStatus.ACTIVE),
    "end": ((AgreementStatus.ACTIVE,), AgreementStatus.ENDED),
    "cancel": ((AgreementStatus.DRAFT,), AgreementStatus.CANCELLED),
}
COHORT_OPEN_STATUSES = (AgreementStatus.DRAFT, AgreementStatus.ACTIVE)


# Visibility (imported by the rosters, registrations, claims and contributions domains)


async def get_visible_agreement(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID
) -> Agreement:
    """The agreement, when the caller is an operator or one of its parties; else 404.

    An agreement of other parties is answered exactly like a missing id, so ids leak nothing.
    """
    agreement = await repository.get_agreement(session, agreement_id)
    if agreement is None or not access.can_see(principal, agreement):
        raise NotFound("No such agreement", code="agreement_not_found")
    return agreement


def _require_bpjs_branch(principal: Principal, agreement: Agreement) -> None:
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden(
            "Only the agreement's BPJS branch (or an operator) may change it",
            code="not_bpjs_branch",
        )


# Reading


def _rate_read(rate: AgreementRate) -> Rate:
    if rate.basis_points is not None:
        return Rate(basis_points=rate.basis_points)
    return Rate(flat_amount=rate.flat_amount)


def cohort_read(cohort: Cohort) -> CohortRead:
    return CohortRead(
        id=cohort.id,
        role=cohort.role_code,
        election=cohort.election_code,
        planned_headcount=cohort.planned_headcount,
        coverage_start=cohort.coverage_start,
        coverage_end=cohort.coverage_end,
        declared_wage=cohort.declared_wage,
        created_at=cohort.created_at,
        updated_at=cohort.updated_at,
    )


async def agreement_reads(
    session: AsyncSession, agreements: Sequence[Agreement]
) -> list[AgreementRead]:
    """The agreements with their rates and cohorts, in two queries whatever their number."""
    ids = [agreement.id for agreement in agreements]
    rates = await repository.rates_of(session, ids)
    cohorts = await repository.cohorts_of(session, ids)
    return [
        AgreementRead(
            id=agreement.id,
            number=agreement.number,
            bpjs_branch_id=agreement.bpjs_branch_id,
            counterpart_id=agreement.counterpart_id,
            payer_id=agreement.payer_id,
            election=agreement.election_code,
            region_code=agreement.region_code,
            signed_on=agreement.signed_on,
            signed_place=agreement.signed_place,
            programs=list(agreement.programs),
            rates={rate.program: _rate_read(rate) for rate in rates.get(agreement.id, [])},
            status=AgreementStatus(agreement.status),
            ended_on=agreement.ended_on,
            version=agreement.version,
            cohorts=[cohort_read(cohort) for cohort in cohorts.get(agreement.id, [])],
            created_at=agreement.created_at,
            updated_at=agreement.updated_at,
        )
        for agreement in agreements
    ]


async def read_agreement(
    session: AsyncSession, principal: Principal, *, agreement_id: uuid.UUID
) -> AgreementRead:
    agreement = await get_visible_agreement(session, principal, agreement_id)
    return (await agreement_reads(session, [agreement]))[0]


async def list_agreements(
    session: AsyncSession,
    principal: Principal,
    *,
    election: str | None,
    status: AgreementStatus | None,
    region_code: str | None,
    counterpart_id: uuid.UUID | None,
    bpjs_branch_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[AgreementRead]:
    stmt = repository.agreements_query(
        principal,
        election=election,
        status=status,
        region_code=region_code,
        counterpart_id=counterpart_id,
        bpjs_branch_id=bpjs_branch_id,
    )
    rows, next_cursor = await keyset_page(
        session,
        stmt,
        keys=[Agreement.created_at, Agreement.id],
        limit=limit,
        cursor=cursor,
    )
    items = await agreement_reads(session, [row[0] for row in rows])
    return Page(items=items, next_cursor=next_cursor)


# Checks against the data


async def _check_parties(
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


async def _check_region(session: AsyncSession, code: str) -> None:
    region = await reference.find_region(session, code)
    if region is None:
        invalid_field("region_not_found", f"No region has the code {code}", ["body", "region_code"])
    if region.level not in AGREEMENT_REGION_LEVELS:
        invalid_field(
            "region_level_invalid",
            f"An agreement covers a province or a regency/city, not a {region.level}",
            ["body", "region_code"],
        )


async def _get_election(session: AsyncSession, code: str) -> Election:
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


def _check_period(start: date, end: date, election: Election, loc: Sequence[str | int]) -> None:
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


async def _cohort_rows(
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
        _check_period(cohort.coverage_start, cohort.coverage_end, election, loc(index))
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


def _programs(values: Sequence[str]) -> list[Program]:
    return [program for program in PROGRAMS if program in values]


def _rate_rows(programs: Collection[Program], rates: dict[Program, Rate]) -> list[dict[str, Any]]:
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


# Creating


async def create_agreement(
    session: AsyncSession, principal: Principal, *, data: AgreementCreate
) -> AgreementRead:
    if not principal.is_operator and data.bpjs_branch_id != principal.organization_id:
        raise Forbidden(
            "A BPJS branch key creates agreements only with its own branch as bpjs_branch_id",
            code="not_bpjs_branch",
        )
    payer_id = data.payer_id or data.counterpart_id
    kinds = await _check_parties(
        session,
        bpjs_branch_id=data.bpjs_branch_id,
        counterpart_id=data.counterpart_id,
        payer_id=payer_id,
    )
    await _get_election(session, data.election)
    await _check_region(session, data.region_code)
    rates = _rate_rows(data.programs, data.rates)
    cohorts = await _cohort_rows(
        session,
        cohorts=data.cohorts,
        counterpart_kind=kinds[data.counterpart_id],
        default_election=data.election,
        loc=lambda index: ["body", "cohorts", index],
    )
    if await repository.number_taken(session, data.number):
        raise agreement_number_exists()
    try:
        agreement = await repository.insert_agreement(
            session,
            {
                "number": data.number,
                "bpjs_branch_id": data.bpjs_branch_id,
                "counterpart_id": data.counterpart_id,
                "payer_id": payer_id,
                "election_code": data.election,
                "region_code": data.region_code,
                "signed_on": data.signed_on,
                "signed_place": data.signed_place,
                "programs": sorted(data.programs),
            },
        )
        await repository.replace_rates(session, agreement.id, rates)
        await repository.insert_cohorts(session, agreement.id, cohorts)
    except IntegrityError as exc:
        raise translated(exc) from exc
    audit.record(
        session,
        principal,
        action="agreement.create",
        entity_type="agreement",
        entity_id=agreement.id,
        detail={"number": data.number, "cohorts": len(cohorts)},
    )
    return (await agreement_reads(session, [agreement]))[0]


# Changing


def _if_match_versions(header: str | None) -> set[int] | None:
    return if_match_versions(header, entity="agreement")


def _check_version(agreement: Agreement, versions: set[int] | None) -> int:
    """The version to update from; 412 when the caller's is not the current one."""
    check_version("agreement", agreement.version, versions)
    return agreement.version


async def update_agreement(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    if_match: str | None,
    data: AgreementUpdate,
) -> AgreementRead:
    agreement = await get_visible_agreement(session, principal, agreement_id)
    _require_bpjs_branch(principal, agreement)
    version = _check_version(agreement, _if_match_versions(if_match))
    if agreement.status != AgreementStatus.DRAFT:
        raise InvalidState(
            f"Only a draft agreement can be edited; this one is {agreement.status}",
            code="agreement_not_editable",
        )
    changes = data.model_dump(exclude_unset=True)
    values: dict[str, Any] = {
        k: v for k, v in changes.items() if k in ("number", "signed_on", "signed_place")
    }
    if "payer_id" in changes:
        await _check_parties(
            session, bpjs_branch_id=None, counterpart_id=None, payer_id=data.payer_id
        )
        values["payer_id"] = data.payer_id
    if "region_code" in changes and data.region_code is not None:
        await _check_region(session, data.region_code)
        values["region_code"] = data.region_code
    if data.number is not None and await repository.number_taken(
        session, data.number, other_than=agreement.id
    ):
        raise agreement_number_exists()
    rates: list[dict[str, Any]] | None = None
    if data.programs is not None or data.rates is not None:
        current = (await repository.rates_of(session, [agreement.id])).get(agreement.id, [])
        programs = data.programs or _programs(agreement.programs)
        merged: dict[Program, Rate] = {
            program: _rate_read(rate)
            for rate in current
            for program in programs
            if rate.program == program
        }
        merged.update(data.rates or {})
        rates = _rate_rows(programs, merged)
        values["programs"] = sorted(programs)
    try:
        updated = await repository.update_agreement(
            session,
            agreement.id,
            values=values,
            version=version,
            statuses=(AgreementStatus.DRAFT,),
        )
        if updated is None:
            await _explain_lost_update(session, agreement.id)
        if rates is not None:
            await repository.replace_rates(session, agreement.id, rates)
    except IntegrityError as exc:
        raise translated(exc) from exc
    audit.record(
        session,
        principal,
        action="agreement.update",
        entity_type="agreement",
        entity_id=agreement.id,
        detail={"fields": sorted(changes), "version": updated.version},
    )
    return (await agreement_reads(session, [updated]))[0]


async def _explain_lost_update(session: AsyncSession, agreement_id: uuid.UUID) -> NoReturn:
    """A versioned update found no row: someone else changed it first."""
    current = await repository.lock_agreement(session, agreement_id)
    version = current.version if current else 0
    raise PreconditionFailed(
        "The agreement was changed by another request; read it again",
        headers=etag(version),
    )


async def transition(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    action: str,
    ended_on: date | None = None,
    if_match: str | None = None,
) -> AgreementRead:
    """activate (draft -> active), end (active -> ended, with a date), cancel (draft -> cancelled).

    If-Match is optional here: the move is guarded by the status in the same UPDATE.
    """
    sources, target = TRANSITIONS[action]
    agreement = await get_visible_agreement(session, principal, agreement_id)
    _require_bpjs_branch(principal, agreement)
    version = _check_version(agreement, _if_match_versions(if_match)) if if_match else None
    if agreement.status not in sources:
        raise _invalid_transition(agreement.status, target)
    previous = agreement.status  # the UPDATE below refreshes `agreement` in place
    values: dict[str, Any] = {"status": target}
    if action == "activate":
        await _check_activatable(session, agreement)
    if action == "end":
        assert ended_on is not None
        if agreement.signed_on is not None and ended_on < agreement.signed_on:
            invalid_field(
                "ended_on_invalid",
                f"The agreement cannot end ({ended_on}) before it was signed "
                f"({agreement.signed_on})",
                ["body", "ended_on"],
            )
        values["ended_on"] = ended_on
    # Ending an agreement also ends its registrations, in this same UPDATE: the database's
    # agreements_end_registrations trigger (migration 0004) terminates the active ones running
    # past ended_on (end_reason "agreement ended"), whatever path ends the agreement.
    updated = await repository.update_agreement(
        session, agreement.id, values=values, version=version, statuses=sources
    )
    if updated is None:
        current = await repository.lock_agreement(session, agreement.id)
        if current is not None and current.status not in sources:
            raise _invalid_transition(current.status, target)
        await _explain_lost_update(session, agreement.id)
    detail: dict[str, Any] = {"from": previous, "to": target}
    if action == "end":
        assert ended_on is not None
        detail["ended_on"] = str(ended_on)
        detail["registrations_ended"] = await repository.registrations_ended_by_trigger(
            session, agreement.id
        )
    audit.record(
        session,
        principal,
        action=f"agreement.{action}",
        entity_type="agreement",
        entity_id=agreement.id,
        detail=detail,
    )
    return (await agreement_reads(session, [updated]))[0]


def _invalid_transition(current: str, target: str) -> AppError:
    return InvalidState(
        f"An agreement that is {current} cannot become {target}", code="invalid_transition"
    )


async def _check_activatable(session: AsyncSession, agreement: Agreement) -> None:
    if agreement.signed_on is None:
        raise InvalidState(
            "Set signed_on (PATCH) before activating: an agreement is active once signed",
            code="agreement_not_signed",
        )
    cohorts = await repository.cohorts_of(session, [agreement.id])
    if not cohorts.get(agreement.id):
        raise InvalidState(
            "Add at least one cohort before activating", code="agreement_has_no_cohorts"
        )


async def _open_for_cohorts(
    session: AsyncSession,
    principal: Principal,
    agreement_id: uuid.UUID,
    if_match: str | None,
    *,
    require_if_match: bool,
) -> Agreement:
    agreement = await get_visible_agreement(session, principal, agreement_id)
    _require_bpjs_branch(principal, agreement)
    versions = _if_match_versions(if_match) if require_if_match or if_match else None
    # Locked so that the status and version checked stay true until the cohort is written.
    locked = await repository.lock_agreement(session, agreement_id)
    assert locked is not None
    _check_version(locked, versions)
    if locked.status not in COHORT_OPEN_STATUSES:
        raise InvalidState(
            "Cohorts can change only while the agreement is draft or active; "
            f"it is {locked.status}",
            code="agreement_not_open",
        )
    return locked


async def add_cohort(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    data: CohortCreate,
    if_match: str | None = None,
) -> CohortRead:
    agreement = await _open_for_cohorts(
        session, principal, agreement_id, if_match, require_if_match=False
    )
    kinds = await repository.organization_kinds(session, [agreement.counterpart_id])
    rows = await _cohort_rows(
        session,
        cohorts=[data],
        counterpart_kind=kinds[agreement.counterpart_id],
        default_election=agreement.election_code,
        loc=lambda _: ["body"],
    )
    try:
        [cohort] = await repository.insert_cohorts(session, agreement.id, rows)
    except IntegrityError as exc:
        raise translated(exc) from exc
    await repository.update_agreement(session, agreement.id, values={})
    audit.record(
        session,
        principal,
        action="cohort.create",
        entity_type="cohort",
        entity_id=cohort.id,
        detail={"agreement_id": str(agreement.id), "role": cohort.role_code},
    )
    return cohort_read(cohort)


async def update_cohort(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    cohort_id: uuid.UUID,
    if_match: str | None,
    data: CohortUpdate,
) -> AgreementRead:
    """Correct a cohort; its period must still hold every registration already in it."""
    agreement = await _open_for_cohorts(
        session, principal, agreement_id, if_match, require_if_match=True
    )
    cohort = await repository.lock_cohort(session, agreement.id, cohort_id)
    if cohort is None:
        raise NotFound("No such cohort in this agreement", code="cohort_not_found")
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    start = changes.get("coverage_start", cohort.coverage_start)
    end = changes.get("coverage_end", cohort.coverage_end)
    elections = await reference.elections_by_code(session, [cohort.election_code])
    _check_period(start, end, elections[cohort.election_code], ["body"])
    span = await repository.registration_span(session, cohort.id)
    if span is not None and (start > span[0] or end < span[1]):
        raise InvalidState(
            f"Registrations in this cohort run from {span[0]} to {span[1]}: the period must "
            "still cover them (terminate them first)",
            code="cohort_period_below_registrations",
        )
    try:
        await repository.update_cohort(session, cohort.id, changes)
    except IntegrityError as exc:
        raise translated(exc) from exc
    updated = await repository.update_agreement(session, agreement.id, values={})
    assert updated is not None  # locked since _open_for_cohorts
    audit.record(
        session,
        principal,
        action="cohort.update",
        entity_type="cohort",
        entity_id=cohort.id,
        detail={"agreement_id": str(agreement.id), "fields": sorted(changes)},
    )
    return (await agreement_reads(session, [updated]))[0]
