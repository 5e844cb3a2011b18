"""Cohorts of an agreement: adding one to a draft or active agreement, and correcting one."""

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import checks, repository, service
from app.agreements.exceptions import translated
from app.agreements.schemas import (
    AgreementRead,
    AgreementStatus,
    CohortCreate,
    CohortRead,
    CohortUpdate,
)
from app.core import audit
from app.core.auth import Principal
from app.core.errors import InvalidState, NotFound
from app.models import Agreement
from app.reference import service as reference

COHORT_OPEN_STATUSES = (AgreementStatus.DRAFT, AgreementStatus.ACTIVE)


async def _open_for_cohorts(
    session: AsyncSession,
    principal: Principal,
    agreement_id: uuid.UUID,
    if_match: str | None,
    *,
    require_if_match: bool,
) -> Agreement:
    agreement = await service.get_visible_agreement(session, principal, agreement_id)
    service.require_bpjs_branch(principal, agreement)
    versions = service.if_match_of(if_match, agreement) if require_if_match or if_match else None
    # Locked so that the status and version checked stay true until the cohort is written.
    locked = await repository.lock_agreement(session, agreement_id)
    assert locked is not None
    service.version_to_update(locked, versions)
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
    rows = await checks.cohort_rows(
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
    return service.cohort_read(cohort)


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
    checks.check_period(start, end, elections[cohort.election_code], ["body"])
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
    return (await service.agreement_reads(session, [updated]))[0]
