"""SQL for registrations: visible lookups, filtered lists, and the state changes."""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, Registration


@dataclass(frozen=True, slots=True)
class RegistrationFilters:
    agreement_id: uuid.UUID | None = None
    cohort_id: uuid.UUID | None = None
    role: str | None = None
    region_prefix: str | None = None
    status: str | None = None
    nik: int | None = None


def _base(organization_id: uuid.UUID | None) -> Select[Any]:
    """Registrations with their agreement's number and parties; None sees every agreement."""
    stmt = select(
        Registration,
        Agreement.number,
        Agreement.bpjs_branch_id,
        Agreement.counterpart_id,
        Agreement.payer_id,
    ).join(Agreement, Agreement.id == Registration.agreement_id)
    if organization_id is not None:
        stmt = stmt.where(
            or_(
                Agreement.bpjs_branch_id == organization_id,
                Agreement.counterpart_id == organization_id,
                Agreement.payer_id == organization_id,
            )
        )
    return stmt


def registrations_query(
    filters: RegistrationFilters, *, organization_id: uuid.UUID | None
) -> Select[Any]:
    stmt = _base(organization_id)
    if filters.agreement_id is not None:
        stmt = stmt.where(Registration.agreement_id == filters.agreement_id)
    if filters.cohort_id is not None:
        stmt = stmt.where(Registration.cohort_id == filters.cohort_id)
    if filters.role is not None:
        stmt = stmt.where(Registration.role_code == filters.role)
    if filters.region_prefix is not None:
        # LIKE, not a range on the text: the codes hold only digits and dots (checked upstream),
        # and a range would depend on the collation's treatment of punctuation.
        stmt = stmt.where(
            or_(
                Registration.region_code == filters.region_prefix,
                Registration.region_code.like(filters.region_prefix + ".%"),
            )
        )
    if filters.status is not None:
        stmt = stmt.where(Registration.status == filters.status)
    if filters.nik is not None:
        stmt = stmt.where(Registration.nik == filters.nik)
    return stmt


async def get_registration(
    session: AsyncSession,
    registration_id: int,
    *,
    organization_id: uuid.UUID | None,
    for_update: bool = False,
) -> Row[Any] | None:
    """(registration, agreement number, branch, counterpart, payer) if visible, else None."""
    stmt = (
        _base(organization_id)
        .where(Registration.id == registration_id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Registration)
    return (await session.execute(stmt)).first()


async def lock_registration(session: AsyncSession, registration_id: int) -> Registration | None:
    """Any registration by id, locked, whatever agreement it belongs to."""
    stmt = (
        select(Registration)
        .where(Registration.id == registration_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def terminate(
    session: AsyncSession, registration_id: int, *, ended_on: date, reason: str
) -> bool:
    """Ends an active registration; False when it is no longer active."""
    result = await session.execute(
        update(Registration)
        .where(Registration.id == registration_id, Registration.status == "active")
        .values(status="terminated", ended_on=ended_on, end_reason=reason)
        .returning(Registration.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def set_held_status(session: AsyncSession, registration_id: int, *, status: str) -> bool:
    """Moves a held registration to `status` (rejected or active); False when no longer held."""
    result = await session.execute(
        update(Registration)
        .where(Registration.id == registration_id, Registration.status == "held")
        .values(status=status)
        .returning(Registration.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def end_for_transfer(
    session: AsyncSession, registration_id: int, *, ended_on: date, reason: str
) -> None:
    """Moves a covering registration's end earlier; an active one becomes terminated."""
    await session.execute(
        update(Registration)
        .where(Registration.id == registration_id)
        .values(
            status=case((Registration.status == "active", "terminated"), else_=Registration.status),
            ended_on=ended_on,
            end_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
