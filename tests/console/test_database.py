"""The database refuses console sessions that would keep a token, never expire, or hang from no
key; an expired session and a production cookie behave as the settings say."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.settings import Settings
from app.main import create_app
from app.models import ApiKey, ConsoleSession
from tests.agreements.test_database import refused
from tests.conftest import ADMIN_KEY
from tests.console.test_forms import BRANCH_SCOPES, sign_in, token_of
from tests.factories import create_key, organization_id


async def a_key(client: httpx.AsyncClient, session: AsyncSession) -> tuple[str, uuid.UUID]:
    key = token_of(
        await create_key(client, await organization_id(client, "bpjs_branch"), BRANCH_SCOPES)
    )
    prefix = key.removeprefix("prs_").split(".")[0]
    return key, (await session.scalars(select(ApiKey.id).where(ApiKey.prefix == prefix))).one()


async def test_database_refuses_bad_sessions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, key_id = await a_key(client, session)
    now = datetime.now(UTC)
    good: dict[str, Any] = {
        "token_hash": hashlib.sha256(b"token").digest(),
        "api_key_id": key_id,
        "created_at": now,
        "expires_at": now + timedelta(hours=8),
    }
    assert "ck_console_sessions_expiry" in await refused(
        session, ConsoleSession, good | {"expires_at": now}
    )
    assert "ck_console_sessions_token_hash_length" in await refused(
        session, ConsoleSession, good | {"token_hash": b"the token itself"}
    )
    assert "fk_console_sessions_api_key_id_api_keys" in await refused(
        session, ConsoleSession, good | {"api_key_id": uuid.uuid4()}
    )


async def test_an_expired_session_signs_in_again(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    key, _ = await a_key(client, session)
    await sign_in(client, key)
    await session.execute(
        text(
            "UPDATE console_sessions SET created_at = now() - interval '9 hours', "
            "expires_at = now() - interval '1 hour'"
        )
    )
    response = await client.get("/console/perjanjian")
    assert response.status_code == 303 and response.headers["location"].startswith("/console/masuk")


async def test_a_sign_in_deletes_the_sessions_that_ended(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    key, _ = await a_key(client, session)
    for _ in range(2):
        await sign_in(client, key)
    csrf = await sign_in(client, key)
    signed_out = await client.post("/console/keluar", data={"csrf_token": csrf})
    assert signed_out.status_code == 303
    await session.execute(
        text(
            "UPDATE console_sessions SET created_at = now() - interval '9 hours', "
            "expires_at = now() - interval '1 hour' WHERE id = "
            "(SELECT id FROM console_sessions WHERE revoked_at IS NULL ORDER BY created_at LIMIT 1)"
        )
    )
    states = text(
        "SELECT count(*) FILTER (WHERE revoked_at IS NOT NULL), "
        "count(*) FILTER (WHERE expires_at <= now()), count(*) FROM console_sessions"
    )
    assert tuple((await session.execute(states)).one()) == (1, 1, 3)
    await sign_in(client, key)
    # The signed-out one and the expired one are gone; the live one and the new one stay.
    assert tuple((await session.execute(states)).one()) == (0, 0, 2)


async def test_production_cookies_are_secure_and_last_the_configured_hours(
    database_url: str,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    key, _ = await a_key(client, session)
    settings = Settings(
        environment="production",
        database_url=database_url,
        admin_api_key=ADMIN_KEY,
        console_session_hours=2,
    )
    app: FastAPI = create_app(settings)
    app.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as production:
        form = await production.get("/console/masuk")
        assert "Secure" in form.headers["set-cookie"]
        await sign_in(production, key)
    stored = (await session.scalars(select(ConsoleSession))).one()
    assert (
        timedelta(hours=1, minutes=59)
        < stored.expires_at - stored.created_at
        <= timedelta(hours=2, minutes=1)
    )
