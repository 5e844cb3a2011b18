"""SQL of the console's sessions, and nothing else."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import ApiKey, ConsoleSession, Organization


async def delete_ended_sessions(session: AsyncSession) -> None:
    """Sessions expired or signed out are of no more use: gone at the next sign-in, so that
    the table holds the live ones only."""
    await session.execute(
        delete(ConsoleSession).where(
            or_(ConsoleSession.expires_at <= func.now(), ConsoleSession.revoked_at.is_not(None))
        )
    )


async def insert_session(
    session: AsyncSession, *, token_hash: bytes, api_key_id: uuid.UUID, expires_at: datetime
) -> None:
    session.add(ConsoleSession(token_hash=token_hash, api_key_id=api_key_id, expires_at=expires_at))
    await session.flush()


async def live_session(session: AsyncSession, token_hash: bytes) -> Any | None:
    """The key and its organization's kind behind a session that is neither expired, signed
    out, nor of a revoked key; None otherwise."""
    row = (
        await session.execute(
            select(ApiKey, Organization.kind)
            .join(ConsoleSession, ConsoleSession.api_key_id == ApiKey.id)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(
                ConsoleSession.token_hash == token_hash,
                ConsoleSession.revoked_at.is_(None),
                ConsoleSession.expires_at > func.now(),
                ApiKey.revoked_at.is_(None),
            )
        )
    ).first()
    return row


async def end_session(session: AsyncSession, token_hash: bytes) -> None:
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == token_hash, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
