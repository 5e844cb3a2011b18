"""SQL for organizations and API keys."""

import uuid
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.models import ApiKey, Organization


def organizations_query(principal: Principal, kind: str | None) -> Select[Any]:
    """The organizations the caller sees: every one for an operator, else its own."""
    stmt = select(Organization)
    if not principal.is_operator:
        stmt = stmt.where(Organization.id == principal.organization_id)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    return stmt


async def organization_exists(session: AsyncSession, kind: str, name: str) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(Organization.kind == kind, Organization.name == name))
        )
    )


async def get_organization(
    session: AsyncSession, organization_id: uuid.UUID
) -> Organization | None:
    return await session.get(Organization, organization_id)


async def get_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def revoke_api_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    result = await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey)
    )
    return result.scalar_one_or_none()
