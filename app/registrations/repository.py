"""SQL for registrations: visible lookups, filtered lists, the state changes, KPJ numbers."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, Select, case, func, or_, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.agreements import access
from app.agreements.access import PartyRole
from app.core.auth import Principal
from app.models import Agreement, Registration, RegistrationStatus


@dataclass(frozen=True, slots=True)
class RegistrationFilters:
    agreement_id: uuid.UUID | None = None
    cohort_id: uuid.UUID | None = None
    role: str | None = None
    region_prefix: str | None = None
    status: str | None = None
    nik: int | None = None


def _filtered(stmt: Select[Any], filters: RegistrationFilters, after_id: int | None) -> Select[Any]:
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
    if after_id is not None:
        stmt = stmt.where(Registration.id > after_id)
    return stmt


async def list_registrations(
    session: AsyncSession,
    filters: RegistrationFilters,
    principal: Principal,
    *,
    after_id: int | None,
    limit: int,
) -> list[Row[Any]]:
    """Up to `limit` (registration, agreement number) rows by id, after `after_id`, of the
    agreements the caller sees.

    Scoped to some agreements (an organization's, or the one filtered on), it takes each
    agreement's first rows by id and merges them: rosters arrive an agreement at a time, so
    one agreement's ids sit together, and a walk of the whole table by id reads every row
    before them (1.5 s at a million rows for an agreement pushed last). Each agreement's part
    can be a range read of ix_registrations_agreement_id_id (0004), but the planner prices its
    heap reads as random (uuid agreement ids do not follow the table's order) and, with the
    default random_page_cost of 4 and more than a few agreements, walks the primary key once
    per agreement instead; with 1.1 (the usual value for SSDs) it takes the index.
    """
    if principal.is_operator and filters.agreement_id is None:
        stmt = _filtered(
            select(Registration, Agreement.number).join(
                Agreement, Agreement.id == Registration.agreement_id
            ),
            filters,
            after_id,
        )
        return list((await session.execute(stmt.order_by(Registration.id).limit(limit))).all())
    agreements = select(Agreement.id, Agreement.number).where(access.readable(principal))
    if filters.agreement_id is not None:
        agreements = agreements.where(Agreement.id == filters.agreement_id)
    scoped = agreements.subquery("scoped")
    per_agreement = (
        _filtered(select(Registration), filters, after_id)
        .where(Registration.agreement_id == scoped.c.id)
        .order_by(Registration.id)
        .limit(limit)
        .lateral("per_agreement")
    )
    registration = aliased(Registration, per_agreement)
    stmt = (
        select(registration, scoped.c.number)
        .select_from(scoped)
        .join(per_agreement, true())
        .order_by(registration.id)
        .limit(limit)
    )
    return list((await session.execute(stmt)).all())


async def get_registration(
    session: AsyncSession,
    registration_id: int,
    principal: Principal,
    *,
    for_update: bool = False,
) -> tuple[Registration, Agreement] | None:
    """The registration and its agreement, if the caller sees it."""
    stmt = (
        select(Registration, Agreement)
        .join(Agreement, Agreement.id == Registration.agreement_id)
        .where(Registration.id == registration_id, access.readable(principal))
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Registration)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


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
        .where(Registration.id == registration_id, Registration.status == RegistrationStatus.ACTIVE)
        .values(status=RegistrationStatus.TERMINATED, ended_on=ended_on, end_reason=reason)
        .returning(Registration.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def set_held_status(session: AsyncSession, registration_id: int, *, status: str) -> bool:
    """Moves a held registration to `status` (rejected or active); False when no longer held."""
    result = await session.execute(
        update(Registration)
        .where(Registration.id == registration_id, Registration.status == RegistrationStatus.HELD)
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
            status=case(
                (Registration.status == RegistrationStatus.ACTIVE, RegistrationStatus.TERMINATED),
                else_=Registration.status,
            ),
            ended_on=ended_on,
            end_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )


async def set_kpj(session: AsyncSession, registration_id: int, kpj: str | None) -> Row[Any]:
    result = await session.execute(
        update(Registration)
        .where(Registration.id == registration_id)
        .values(kpj=kpj, updated_at=func.now())
        .returning(
            Registration.id, Registration.agreement_id, Registration.kpj, Registration.updated_at
        )
    )
    return result.one()


# One statement for a whole list of (nik, kpj): which registrations each item reaches among
# the caller's agreements, whether its KPJ already belongs to another NIK, and the update of
# the others. Items reach the statement with distinct NIKs and distinct KPJs (service.py).
SET_KPJS = f"""
WITH input AS (
    SELECT i.ord, i.nik, i.kpj
    FROM unnest(CAST(:niks AS bigint[]), CAST(:kpjs AS text[])) WITH ORDINALITY AS i(nik, kpj, ord)
),
reached AS (
    SELECT r.id, i.ord, i.kpj, r.kpj AS old_kpj
    FROM input i
    JOIN registrations r ON r.nik = i.nik
    JOIN agreements a ON a.id = r.agreement_id
    WHERE CAST(:branch AS uuid) IS NULL
       OR {access.party_sql("a", "CAST(:branch AS uuid)", [PartyRole.BPJS_BRANCH])}
),
taken AS (
    SELECT DISTINCT i.ord
    FROM input i
    JOIN registrations other ON other.kpj = i.kpj AND other.nik <> i.nik
),
changed AS (
    UPDATE registrations r
    SET kpj = t.kpj, updated_at = now()
    FROM reached t
    WHERE r.id = t.id
      AND t.old_kpj IS DISTINCT FROM t.kpj
      AND NOT EXISTS (SELECT 1 FROM taken WHERE taken.ord = t.ord)
    RETURNING r.id
)
SELECT i.ord,
       count(t.id) AS reached,
       bool_or(k.ord IS NOT NULL) AS taken,
       coalesce(array_agg(c.id) FILTER (WHERE c.id IS NOT NULL), '{{}}') AS changed
FROM input i
LEFT JOIN reached t ON t.ord = i.ord
LEFT JOIN taken k ON k.ord = i.ord
LEFT JOIN changed c ON c.id = t.id
GROUP BY i.ord
ORDER BY i.ord
"""


async def set_kpjs(
    session: AsyncSession,
    niks: Sequence[int],
    kpjs: Sequence[str],
    branch_id: uuid.UUID | None,
) -> list[Row[Any]]:
    """Per item, in order: (ord, registrations reached, kpj taken, ids changed)."""
    result = await session.execute(
        text(SET_KPJS), {"niks": list(niks), "kpjs": list(kpjs), "branch": branch_id}
    )
    return list(result.all())
