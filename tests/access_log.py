"""What the access log holds, for the tests of every read that writes to it."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def access_log_rows(session: AsyncSession, *, endpoint: str | None = None) -> list[Any]:
    """(api_key_id, organization_id, nik, endpoint, registrations) per row, oldest first; the
    ids as text, as the API shows them."""
    where = " WHERE endpoint = :endpoint" if endpoint is not None else ""
    rows = await session.execute(
        text(
            "SELECT api_key_id::text, organization_id::text, nik, endpoint, registrations "
            f"FROM access_log{where} ORDER BY id"
        ),
        {"endpoint": endpoint},
    )
    return list(rows.all())
