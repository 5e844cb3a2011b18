"""SQL for agreements, their rates and their cohorts."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Agreement


async def get_agreement(session: AsyncSession, agreement_id: uuid.UUID) -> Agreement | None:
    return await session.get(Agreement, agreement_id)
