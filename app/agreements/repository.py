"""SQL for agreements, their rates and their cohorts."""

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.core.auth import Principal
from app.models import (
    COVERING_STATUSES,
    Agreement,
    AgreementRate,
    Cohort,
    Organization,
    Registration,
    RegistrationStatus,
)

# Registrations whose period a cohort must keep covering (rejected ones never covered anyone).
HOLDING_STATUSES = (*COVERING_STATUSES, RegistrationStatus.HELD)
# The end_reason migration 0004's agreements_end_registrations trigger writes.
AGREEMENT_ENDED = "agreement ended"


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement | None:
    return await session.get(Agreement, agreement_id)


async def lock_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement | None:
    """The agreement row, locked until the transaction ends, read fresh from the database."""
    result = await session.execute(
        select(Agreement)
        .where(Agreement.id == agreement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def number_taken(
    session: AsyncSession, number: str, *, other_than: uuid.UUID | None = None
) -> bool:
    stmt = select(Agreement.id).where(Agreement.number == number)
    if other_than is not None:
        stmt = stmt.where(Agreement.id != other_than)
    return (await session.scalar(stmt.limit(1))) is not None


async def organization_kinds(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Organization.id, Organization.kind).where(Organization.id.in_(list(ids)))
    )
    return {row.id: row.kind for row in rows}


async def insert_agreement(session: AsyncSession, values: Mapping[str, Any]) -> Agreement:
    agreement = Agreement(**values)
    session.add(agreement)
    await session.flush()
    await session.refresh(agreement)
    return agreement


async def replace_rates(
    session: AsyncSession, agreement_id: uuid.UUID, rates: Sequence[Mapping[str, Any]]
) -> None:
    await session.execute(delete(AgreementRate).where(AgreementRate.agreement_id == agreement_id))
    if rates:
        await session.execute(
            insert(AgreementRate), [{"agreement_id": agreement_id, **rate} for rate in rates]
        )


async def insert_cohorts(
    session: AsyncSession, agreement_id: uuid.UUID, cohorts: Sequence[Mapping[str, Any]]
) -> list[Cohort]:
    if not cohorts:
        return []
    result = await session.scalars(
        insert(Cohort).returning(Cohort, sort_by_parameter_order=True),
        [{"agreement_id": agreement_id, **cohort} for cohort in cohorts],
    )
    return list(result)


async def rates_of(
    session: AsyncSession, agreement_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[AgreementRate]]:
    rows = await session.scalars(
        select(AgreementRate)
        .where(AgreementRate.agreement_id.in_(list(agreement_ids)))
        .order_by(AgreementRate.agreement_id, AgreementRate.program)
        .execution_options(populate_existing=True)
    )
    grouped: dict[uuid.UUID, list[AgreementRate]] = defaultdict(list)
    for rate in rows:
        grouped[rate.agreement_id].append(rate)
    return grouped


async def cohorts_of(
    session: AsyncSession, agreement_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[Cohort]]:
    rows = await session.scalars(
        select(Cohort)
        .where(Cohort.agreement_id.in_(list(agreement_ids)))
        .order_by(Cohort.agreement_id, Cohort.coverage_start, Cohort.role_code, Cohort.id)
        .execution_options(populate_existing=True)
    )
    grouped: dict[uuid.UUID, list[Cohort]] = defaultdict(list)
    for cohort in rows:
        grouped[cohort.agreement_id].append(cohort)
    return grouped


def agreements_query(
    principal: Principal,
    *,
    election: str | None = None,
    status: str | None = None,
    region_code: str | None = None,
    counterpart_id: uuid.UUID | None = None,
    bpjs_branch_id: uuid.UUID | None = None,
) -> Select[Any]:
    """The agreements the caller sees, narrowed by the filters."""
    stmt = select(Agreement).where(access.readable(principal))
    if election is not None:
        stmt = stmt.where(Agreement.election_code == election)
    if status is not None:
        stmt = stmt.where(Agreement.status == status)
    if region_code is not None:
        # Dotted codes nest by prefix: 12.09 is inside 12; the dot keeps 12.1 out of 12.10.
        stmt = stmt.where(
            or_(
                Agreement.region_code == region_code,
                func.starts_with(Agreement.region_code, region_code + "."),
            )
        )
    if counterpart_id is not None:
        stmt = stmt.where(Agreement.counterpart_id == counterpart_id)
    if bpjs_branch_id is not None:
        stmt = stmt.where(Agreement.bpjs_branch_id == bpjs_branch_id)
    return stmt


async def update_agreement(
    session: AsyncSession,
    agreement_id: uuid.UUID,
    *,
    values: Mapping[str, Any],
    version: int | None = None,
    statuses: Collection[str] | None = None,
) -> Agreement | None:
    """Apply `values` and bump the version, only while the row is at `version` and in `statuses`.

    Of two concurrent calls at the same version exactly one gets the row: the other waits for
    the first to commit, sees the new version and gets None.
    """
    stmt = update(Agreement).where(Agreement.id == agreement_id)
    if version is not None:
        stmt = stmt.where(Agreement.version == version)
    if statuses is not None:
        stmt = stmt.where(Agreement.status.in_(list(statuses)))
    stmt = stmt.values(**values, version=Agreement.version + 1, updated_at=func.now())
    result = await session.execute(
        stmt.returning(Agreement).execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def registrations_ended_by_trigger(session: AsyncSession, agreement_id: uuid.UUID) -> int:
    """How many registrations the agreement's end terminated (the database's
    agreements_end_registrations trigger does it, in the UPDATE that ends the agreement)."""
    count = await session.scalar(
        select(func.count()).where(
            Registration.agreement_id == agreement_id,
            Registration.end_reason == AGREEMENT_ENDED,
        )
    )
    return count or 0


async def lock_cohort(
    session: AsyncSession, agreement_id: uuid.UUID, cohort_id: uuid.UUID
) -> Cohort | None:
    result = await session.execute(
        select(Cohort)
        .where(Cohort.id == cohort_id, Cohort.agreement_id == agreement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def registration_span(
    session: AsyncSession, cohort_id: uuid.UUID
) -> tuple[date, date] | None:
    """The earliest start and latest end of the registrations a cohort holds, if any."""
    row = (
        await session.execute(
            select(
                func.min(Registration.coverage_start), func.max(Registration.coverage_end)
            ).where(
                Registration.cohort_id == cohort_id,
                Registration.status.in_(HOLDING_STATUSES),
            )
        )
    ).one()
    if row[0] is None:
        return None
    return row[0], row[1]


async def update_cohort(
    session: AsyncSession, cohort_id: uuid.UUID, values: Mapping[str, Any]
) -> Cohort:
    result = await session.execute(
        update(Cohort)
        .where(Cohort.id == cohort_id)
        .values(**values, updated_at=func.now())
        .returning(Cohort)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()
