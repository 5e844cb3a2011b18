"""What a batch looks up besides its file and the reference data: its agreement and cohorts."""

import uuid
from typing import Any

import asyncpg
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement, Cohort, Election, Role, RoleAgeLimit


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement | None:
    return await session.get(Agreement, agreement_id)


async def lock_agreement_status(
    connection: asyncpg.Connection, agreement_id: uuid.UUID
) -> str | None:
    """The agreement's status, share-locked until commit: it cannot end while a roster lands
    (on each connection a roster writes with)."""
    status: str | None = await connection.fetchval(
        "SELECT status FROM agreements WHERE id = $1 FOR SHARE", agreement_id
    )
    return status


async def cohorts_of(session: AsyncSession, agreement_id: uuid.UUID) -> list[Any]:
    """Each cohort with its election's voting day and the age limits that apply to it."""
    stmt = (
        select(
            Cohort.id,
            Cohort.role_code,
            Cohort.coverage_start,
            Cohort.coverage_end,
            Election.voting_day,
            func.coalesce(RoleAgeLimit.min_age, Role.min_age).label("min_age"),
            case(
                (RoleAgeLimit.role_code.is_not(None), RoleAgeLimit.max_age), else_=Role.max_age
            ).label("max_age"),
        )
        .join(Election, Election.code == Cohort.election_code)
        .join(Role, Role.code == Cohort.role_code)
        .outerjoin(
            RoleAgeLimit,
            (RoleAgeLimit.election_code == Cohort.election_code)
            & (RoleAgeLimit.role_code == Cohort.role_code),
        )
        .where(Cohort.agreement_id == agreement_id)
        .order_by(Cohort.coverage_start)
    )
    return list((await session.execute(stmt)).all())
