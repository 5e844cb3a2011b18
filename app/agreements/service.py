"""Agreements (PKS): reading, creating, editing drafts and the lifecycle.

Other domains import `get_visible_agreement` (who sees what is agreements/access.py). The
checks against the data are checks.py, the cohorts of an existing agreement cohorts.py.
"""

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, NoReturn

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access, checks, repository
from app.agreements.access import PartyRole
from app.agreements.exceptions import agreement_number_exists, translated
from app.agreements.schemas import (
    AgreementCreate,
    AgreementRead,
    AgreementStatus,
    AgreementUpdate,
    CohortRead,
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
from app.models import Agreement, AgreementRate, Cohort

# action -> (statuses it starts from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "activate": ((AgreementStatus.DRAFT,), AgreementStatus.ACTIVE),
    "end": ((AgreementStatus.ACTIVE,), AgreementStatus.ENDED),
    "cancel": ((AgreementStatus.DRAFT,), AgreementStatus.CANCELLED),
}


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


def require_bpjs_branch(principal: Principal, agreement: Agreement) -> None:
    if not access.acts_as(principal, agreement, PartyRole.BPJS_BRANCH):
        raise Forbidden(
            "Only the agreement's BPJS branch (or an operator) may change it",
            code="not_bpjs_branch",
        )


# Reading


def rate_read(rate: AgreementRate) -> Rate:
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
            rates={rate.program: rate_read(rate) for rate in rates.get(agreement.id, [])},
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
    kinds = await checks.check_parties(
        session,
        bpjs_branch_id=data.bpjs_branch_id,
        counterpart_id=data.counterpart_id,
        payer_id=payer_id,
    )
    await checks.get_election(session, data.election)
    await checks.check_region(session, data.region_code)
    rates = checks.rate_rows(data.programs, data.rates)
    cohorts = await checks.cohort_rows(
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


def if_match_of(header: str | None, agreement: Agreement) -> set[int] | None:
    return if_match_versions(header, entity="agreement", current=agreement.version)


def version_to_update(agreement: Agreement, versions: set[int] | None) -> int:
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
    require_bpjs_branch(principal, agreement)
    version = version_to_update(agreement, if_match_of(if_match, agreement))
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
        await checks.check_parties(
            session, bpjs_branch_id=None, counterpart_id=None, payer_id=data.payer_id
        )
        values["payer_id"] = data.payer_id
    if "region_code" in changes and data.region_code is not None:
        await checks.check_region(session, data.region_code)
        values["region_code"] = data.region_code
    if data.number is not None and await repository.number_taken(
        session, data.number, other_than=agreement.id
    ):
        raise agreement_number_exists()
    rates: list[dict[str, Any]] | None = None
    if data.programs is not None or data.rates is not None:
        current = (await repository.rates_of(session, [agreement.id])).get(agreement.id, [])
        programs = data.programs or checks.programs_of(agreement.programs)
        merged: dict[Program, Rate] = {
            program: rate_read(rate)
            for rate in current
            for program in programs
            if rate.program == program
        }
        merged.update(data.rates or {})
        rates = checks.rate_rows(programs, merged)
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
    require_bpjs_branch(principal, agreement)
    version = version_to_update(agreement, if_match_of(if_match, agreement)) if if_match else None
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
