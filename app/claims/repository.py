"""SQL for claims: the covering registration, the claim rows, documents, events and lists."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.core.auth import Principal
from app.models import (
    Agreement,
    Claim,
    ClaimBenefit,
    ClaimDocument,
    ClaimEvent,
    Cohort,
    Registration,
)


@dataclass(frozen=True, slots=True)
class ClaimFilters:
    agreement_id: uuid.UUID | None = None
    status: str | None = None
    program: str | None = None
    incident_from: date | None = None
    incident_to: date | None = None


def _candidates() -> Select[Any]:
    return (
        select(
            Registration.id,
            Registration.nik,
            Registration.status,
            Registration.coverage_start,
            Registration.coverage_end,
            Registration.ended_on,
            Registration.agreement_id,
            Agreement.programs,
            Cohort.declared_wage,
        )
        .join(Agreement, Agreement.id == Registration.agreement_id)
        .join(Cohort, Cohort.id == Registration.cohort_id)
    )


async def registrations_for_claim(
    session: AsyncSession,
    principal: Principal,
    *,
    registration_id: int | None = None,
    nik: int | None = None,
) -> list[Row[Any]]:
    """The registration (by id) or a NIK's registrations under agreements the caller sees,
    locked FOR SHARE so that none ends or changes before the claim lands.
    """
    stmt = _candidates().where(access.readable(principal))
    if registration_id is not None:
        stmt = stmt.where(Registration.id == registration_id)
    if nik is not None:
        stmt = stmt.where(Registration.nik == nik)
    stmt = stmt.order_by(Registration.coverage_start, Registration.id)
    rows = await session.execute(stmt.with_for_update(read=True, of=Registration))
    return list(rows.all())


async def insert_claim(session: AsyncSession, values: Mapping[str, Any]) -> Claim:
    # The clock, not the transaction's start: claims filed in one transaction keep their order.
    stamped = {**values, "created_at": func.clock_timestamp(), "updated_at": func.clock_timestamp()}
    claim = await session.scalar(insert(Claim).values(**stamped).returning(Claim))
    assert claim is not None
    return claim


async def insert_benefits(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ClaimBenefit), list(rows))


async def insert_documents(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await session.execute(insert(ClaimDocument), list(rows))


async def insert_event(session: AsyncSession, values: Mapping[str, Any]) -> None:
    await session.execute(insert(ClaimEvent).values(**values))


async def readable_claim(
    session: AsyncSession, claim_id: uuid.UUID, principal: Principal
) -> tuple[Claim, Agreement] | None:
    """The claim and its agreement, read fresh, when the caller sees the agreement."""
    stmt = (
        select(Claim, Agreement)
        .join(Agreement, Agreement.id == Claim.agreement_id)
        .where(Claim.id == claim_id, access.readable(principal))
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def current_version(session: AsyncSession, claim_id: uuid.UUID) -> int | None:
    version: int | None = await session.scalar(select(Claim.version).where(Claim.id == claim_id))
    return version


async def benefits_of(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> list[ClaimBenefit]:
    rows = await session.scalars(
        select(ClaimBenefit)
        .where(ClaimBenefit.claim_id.in_(claim_ids))
        .order_by(ClaimBenefit.claim_id, ClaimBenefit.position)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def documents_of(
    session: AsyncSession, claim_ids: Sequence[uuid.UUID]
) -> list[ClaimDocument]:
    rows = await session.scalars(
        select(ClaimDocument)
        .where(ClaimDocument.claim_id.in_(claim_ids))
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def events_of(session: AsyncSession, claim_ids: Sequence[uuid.UUID]) -> list[ClaimEvent]:
    rows = await session.scalars(
        select(ClaimEvent).where(ClaimEvent.claim_id.in_(claim_ids)).order_by(ClaimEvent.id)
    )
    return list(rows)


async def missing_documents(session: AsyncSession, claim_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(ClaimDocument.kind).where(
            ClaimDocument.claim_id == claim_id,
            ClaimDocument.required,
            ClaimDocument.received_at.is_(None),
        )
    )
    return list(rows)


async def move(
    session: AsyncSession,
    claim_id: uuid.UUID,
    *,
    version: int,
    from_status: str,
    values: Mapping[str, Any],
) -> Claim | None:
    """The claim after the move, or None when its version or status is no longer the one read."""
    stmt = (
        update(Claim)
        .where(Claim.id == claim_id, Claim.version == version, Claim.status == from_status)
        .values(**values, version=Claim.version + 1, updated_at=func.now())
        .returning(Claim)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def bump_version(session: AsyncSession, claim_id: uuid.UUID) -> Claim:
    stmt = (
        update(Claim)
        .where(Claim.id == claim_id)
        .values(version=Claim.version + 1, updated_at=func.now())
        .returning(Claim)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one()


async def receive_document(
    session: AsyncSession,
    *,
    claim_id: uuid.UUID,
    kind: str,
    reference: str,
    key_id: uuid.UUID | None,
    organization_id: uuid.UUID | None,
) -> None:
    """Mark a document received; a kind outside the checklist is added as not required."""
    received = {
        "received_at": func.now(),
        "reference": reference,
        "received_by_key_id": key_id,
        "received_by_organization_id": organization_id,
    }
    stmt = pg_insert(ClaimDocument).values(claim_id=claim_id, kind=kind, required=False, **received)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ClaimDocument.claim_id, ClaimDocument.kind], set_=received
        )
    )


def claims_query(filters: ClaimFilters, principal: Principal) -> Select[Any]:
    """The claims of agreements the caller sees, matching the filters."""
    stmt = select(Claim).where(access.readable_from(principal, Claim.agreement_id))
    if filters.agreement_id is not None:
        stmt = stmt.where(Claim.agreement_id == filters.agreement_id)
    if filters.status is not None:
        stmt = stmt.where(Claim.status == filters.status)
    if filters.program is not None:
        stmt = stmt.where(Claim.program == filters.program)
    if filters.incident_from is not None:
        stmt = stmt.where(Claim.incident_date >= filters.incident_from)
    if filters.incident_to is not None:
        stmt = stmt.where(Claim.incident_date <= filters.incident_to)
    return stmt
