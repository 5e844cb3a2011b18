"""Rate limits per API key and failed authentications per client address, shared by processes."""

import re
import threading
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import ratelimit
from app.core.database import plain_url
from app.core.errors import TooManyRequests
from app.core.ratelimit import RateLimits
from app.core.settings import Settings
from app.main import create_app
from tests.conftest import app_settings
from tests.factories import issue_key, organization_id


@pytest.fixture
async def limited_app(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    settings = app_settings(database_url).model_copy(
        update={"rate_limit_per_key": "5/minute", "rate_limit_failed_auth": "3/minute"}
    )
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    yield app


def client_from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def rate(response: httpx.Response) -> dict[str, int]:
    match = re.fullmatch(r'"key";r=(\d+);t=(\d+)', response.headers["ratelimit"])
    assert match, response.headers["ratelimit"]
    return {"remaining": int(match[1]), "reset": int(match[2])}


async def test_each_key_has_its_limit_then_429(limited_app: FastAPI) -> None:
    async with client_from(limited_app, "10.0.0.1") as client:
        integrator = await issue_key(
            client, await organization_id(client, "integrator"), ["coverage:read"]
        )
        other = await issue_key(
            client, await organization_id(client, "integrator"), ["coverage:read"]
        )
        url = "/v1/coverage/1209185705900001"
        seen = []
        for _ in range(5):
            response = await client.get(url, headers=integrator.headers)
            assert response.status_code == 200
            assert response.headers["ratelimit-policy"] == '"key";q=5;w=60'
            seen.append(rate(response)["remaining"])
        assert seen == [4, 3, 2, 1, 0]
        refused = await client.get(url, headers=integrator.headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert rate(refused)["remaining"] == 0
        # Another key of the same address is counted on its own; bodies count too.
        assert (await client.get(url, headers=other.headers)).status_code == 200
        batch = await client.post(
            "/v1/coverage/checks",
            json={"on": "2024-11-20", "niks": ["1209185705900001"]},
            headers=integrator.headers,
        )
        assert batch.status_code == 429


async def test_failed_authentications_are_throttled_per_address(limited_app: FastAPI) -> None:
    async with client_from(limited_app, "10.0.0.2") as client:
        caller = await issue_key(
            client, await organization_id(client, "integrator"), ["coverage:read"]
        )
        url = "/v1/coverage/1209185705900001"
        assert (await client.get(url, headers=caller.headers)).status_code == 200  # now cached

        def guess() -> dict[str, str]:
            return {"Authorization": f"Bearer prs_{uuid.uuid4().hex[:10]}.guess"}

        statuses = [(await client.get(url, headers=guess())).status_code for _ in range(5)]
        assert statuses == [401, 401, 401, 429, 429]
        refused = await client.get("/v1/registrations", headers=guess())
        assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        # The valid key of that address goes on working.
        assert (await client.get(url, headers=caller.headers)).status_code == 200
    # Another address is not held back by this one's failures.
    async with client_from(limited_app, "10.0.0.3") as elsewhere:
        assert (await elsewhere.get(url, headers=guess())).status_code == 401


def test_a_limit_that_does_not_parse_stops_the_start() -> None:
    with pytest.raises(ValueError, match="rate_limit_per_key"):
        Settings(environment="test", rate_limit_per_key="lots")
    assert Settings(environment="test", rate_limit_failed_auth="20 per second")


def test_counting_starts_no_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """limits' memory storage started a timer thread on a count once its last one had run;
    on the coverage lookup's path that cost more than the lookup (app.core.ratelimit)."""
    limits = RateLimits("1000/minute", "1000/minute")
    time.sleep(0.05)  # the storage's constructor starts one; it has run by now
    started: list[threading.Thread] = []
    start = threading.Thread.start

    def counting(thread: threading.Thread) -> None:
        started.append(thread)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", counting)
    for _ in range(10):
        limits.admit("key")
        limits.note_failure("10.0.0.9")
        time.sleep(0.015)
    assert started == []


def test_a_window_starts_again_once_it_has_ended(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [960.0]  # a whole minute: windows are aligned on the clock
    monkeypatch.setattr(time, "time", lambda: clock[0])
    limits = RateLimits("2/minute", "2/minute")
    limits.admit("key")
    limits.admit("key")
    with pytest.raises(TooManyRequests) as refused:
        limits.admit("key")
    assert (refused.value.headers or {})["Retry-After"] == "60"
    clock[0] += 59.5
    with pytest.raises(TooManyRequests) as refused:
        limits.admit("key")
    assert (refused.value.headers or {})["Retry-After"] == "1"
    clock[0] += 0.5
    assert dict(limits.admit("key"))[b"ratelimit"] == b'"key";r=1;t=60'


def test_addresses_not_seen_again_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    limits = RateLimits("2/minute", "1/minute")
    for address in range(100):
        limits.note_failure(f"10.0.{address}.1")
    with pytest.raises(TooManyRequests):
        limits.refuse_failing_address("10.0.5.1")
    clock[0] += ratelimit.SWEEP_SECONDS + 1
    limits.note_failure("10.1.0.1")  # a new window: the sweep's turn
    assert limits.failed_auth.peek("10.0.5.1") == (0, 0.0)
    assert len(limits.failed_auth) == 1
    limits.refuse_failing_address("10.0.5.1")


async def share(connection: asyncpg.Connection, limits: RateLimits) -> None:
    """One round of a served process's sharing: the upsert, committed, then settled."""
    async with connection.transaction():
        pending = await ratelimit.share(connection, limits)
    ratelimit.settle(pending)


async def test_processes_share_their_counts_through_the_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes' limits, as each server keeps them, sharing as their lifespans do once a
    second."""
    monkeypatch.setattr(time, "time", lambda: 1_800_000_030.0)  # half a minute into a window
    first, second = RateLimits("10/minute", "4/minute"), RateLimits("10/minute", "4/minute")
    key, address = f"key-{uuid.uuid4()}", f"10.9.{uuid.uuid4().int % 250}.1"
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        for _ in range(6):
            first.admit(key)
        await share(connection, first)
        second.admit(key)  # before it has shared: it knows only its own
        await share(connection, second)
        assert second.per_key.peek(key)[0] == 7
        for _ in range(3):
            second.admit(key)
        with pytest.raises(TooManyRequests):
            second.admit(key)
        await share(connection, second)
        first.admit(key)  # the 12th in all, let through: the first has not heard of them yet
        await share(connection, first)
        with pytest.raises(TooManyRequests):
            first.admit(key)
        for limits in (first, second, first, first):
            limits.note_failure(address)
            await share(connection, limits)
        second.note_failure(address)
        await share(connection, second)
        with pytest.raises(TooManyRequests):
            second.refuse_failing_address(address)

        # A crash empties the unlogged table: what a process knew stays known.
        await connection.execute("DELETE FROM rate_limit_windows WHERE name = $1", key)
        with pytest.raises(TooManyRequests):
            second.admit(key)
        await share(connection, second)
        assert second.per_key.peek(key)[0] == 12  # the 11 it knew, and the one refused since
    finally:
        await connection.execute(
            "DELETE FROM rate_limit_windows WHERE name = ANY($1::text[])", [key, address]
        )
        await connection.close()


async def test_a_failed_share_is_sent_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_800_000_030.0)
    limits, key = RateLimits("10/minute", "4/minute"), f"key-{uuid.uuid4()}"
    connection = await asyncpg.connect(plain_url(database_url))
    try:
        for _ in range(3):
            limits.admit(key)
        transaction = connection.transaction()
        await transaction.start()
        await ratelimit.share(connection, limits)
        await transaction.rollback()  # the commit never came: nothing settled
        await share(connection, limits)
        hits = await connection.fetchval("SELECT hits FROM rate_limit_windows WHERE name = $1", key)
        assert hits == 3 and limits.per_key.peek(key)[0] == 3
    finally:
        await connection.execute("DELETE FROM rate_limit_windows WHERE name = $1", key)
        await connection.close()
