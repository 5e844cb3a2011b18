"""Fixtures of the roster tests."""

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.rosters.context import role_vocabulary
from app.rosters.parsing import RoleVocabulary


@pytest.fixture(scope="session")
async def roles(engine: AsyncEngine) -> RoleVocabulary:
    """The role catalog's words, as the roster parser reads a JABATAN with them."""
    async with AsyncSession(engine) as session:
        return await role_vocabulary(session)
