"""SQL for regions, roles, elections, age limits and benefit schedules."""

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import BenefitSchedule, Election, Region, Role, RoleAgeLimit, RoleLabel


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def regions_query(*, parent: str | None, level: str | None, q: str | None) -> Select[Any]:
    stmt = select(Region)
    if parent is not None:
        stmt = stmt.where(Region.parent_code == parent)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    if q is not None:
        # Served by the trigram index ix_regions_name_trgm.
        stmt = stmt.where(Region.name.ilike(f"%{escape_like(q)}%", escape="\\"))
    return stmt


async def regions_by_code(session: AsyncSession, codes: Sequence[str]) -> list[Region]:
    """The regions among `codes`, shortest code (the province) first."""
    rows = await session.scalars(
        select(Region).where(Region.code.in_(codes)).order_by(func.length(Region.code))
    )
    return list(rows)


async def region(session: AsyncSession, code: str) -> Region | None:
    return await session.get(Region, code)


async def district_codes(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(Region.code).where(Region.level == "district")))


async def all_roles(session: AsyncSession) -> list[Role]:
    return list(await session.scalars(select(Role).order_by(Role.code)))


async def region_rows(session: AsyncSession) -> list[tuple[str, str, str]]:
    rows = await session.execute(select(Region.code, Region.name, Region.level))
    return [(code, name, level) for code, name, level in rows]


async def role(session: AsyncSession, code: str) -> Role | None:
    return await session.get(Role, code)


async def roles_by_code(session: AsyncSession, codes: Collection[str]) -> dict[str, Role]:
    rows = await session.scalars(select(Role).where(Role.code.in_(list(codes))))
    return {role.code: role for role in rows}


async def existing_role_codes(session: AsyncSession, codes: Sequence[str]) -> set[str]:
    return set(await session.scalars(select(Role.code).where(Role.code.in_(codes))))


async def election(session: AsyncSession, code: str) -> Election | None:
    return await session.get(Election, code)


async def elections_by_code(session: AsyncSession, codes: Collection[str]) -> dict[str, Election]:
    rows = await session.scalars(select(Election).where(Election.code.in_(list(codes))))
    return {election.code: election for election in rows}


def elections_query() -> Select[Any]:
    return select(Election)


async def age_limits_of_elections(
    session: AsyncSession, election_codes: Sequence[str]
) -> list[RoleAgeLimit]:
    rows = await session.scalars(
        select(RoleAgeLimit)
        .where(RoleAgeLimit.election_code.in_(election_codes))
        .order_by(RoleAgeLimit.election_code, RoleAgeLimit.role_code)
    )
    return list(rows)


async def all_age_limits(session: AsyncSession) -> list[RoleAgeLimit]:
    rows = await session.scalars(
        select(RoleAgeLimit).order_by(RoleAgeLimit.role_code, RoleAgeLimit.election_code)
    )
    return list(rows)


async def effective_age_limits(
    session: AsyncSession, *, election_code: str, role_code: str
) -> tuple[int, int | None] | None:
    """The election's limits for the role, else the role's own; None when either is unknown."""
    overridden = RoleAgeLimit.election_code.is_not(None)
    row = (
        await session.execute(
            select(
                case((overridden, RoleAgeLimit.min_age), else_=Role.min_age),
                # An override without max_age means "no maximum", not "the role's maximum".
                case((overridden, RoleAgeLimit.max_age), else_=Role.max_age),
            )
            .select_from(Role)
            .join(Election, Election.code == election_code)
            .outerjoin(
                RoleAgeLimit,
                (RoleAgeLimit.role_code == Role.code)
                & (RoleAgeLimit.election_code == Election.code),
            )
            .where(Role.code == role_code)
        )
    ).first()
    return None if row is None else (int(row[0]), row[1])


async def insert_election(session: AsyncSession, *, code: str, name: str, voting_day: date) -> bool:
    """Insert the election; False when the code is taken (also under a concurrent insert)."""
    inserted = await session.scalar(
        pg_insert(Election)
        .values(code=code, name=name, voting_day=voting_day)
        .on_conflict_do_nothing(index_elements=[Election.code])
        .returning(Election.code)
    )
    return inserted is not None


async def insert_age_limits(
    session: AsyncSession, *, election_code: str, limits: Sequence[tuple[str, int, int | None]]
) -> None:
    if not limits:
        return
    await session.execute(
        insert(RoleAgeLimit),
        [
            {
                "election_code": election_code,
                "role_code": role_code,
                "min_age": min_age,
                "max_age": max_age,
            }
            for role_code, min_age, max_age in limits
        ],
    )


async def schedules_in_force(
    session: AsyncSession, *, on: date, program: str | None
) -> list[BenefitSchedule]:
    stmt = select(BenefitSchedule).where(
        BenefitSchedule.effective_from <= on,
        or_(BenefitSchedule.effective_to.is_(None), BenefitSchedule.effective_to >= on),
    )
    if program is not None:
        stmt = stmt.where(BenefitSchedule.program == program)
    return list(await session.scalars(stmt.order_by(BenefitSchedule.program, BenefitSchedule.id)))


async def role_labels(session: AsyncSession) -> list[RoleLabel]:
    return list(await session.scalars(select(RoleLabel).order_by(RoleLabel.label)))
