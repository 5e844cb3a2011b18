"""The access log: a row per NIK read, who read it, and the operators' listing."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.accesslog import AccessLogWriter, ReadGroup
from tests.access_log import access_log_rows
from tests.coverage.helpers import KPPS_2024, two_agreements
from tests.factories import ADMIN, issue_key
from tests.seed import OfficerSpec, make_nik, register

NIK = make_nik(serial=11)
OTHER = make_nik(serial=12)


def spool_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".spool"))


SINGLE = "GET /v1/coverage/{nik}"
BATCH = "POST /v1/coverage/checks"


async def test_reads_are_logged_with_key_and_organization(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await two_agreements(client, session)
    await register(session, world.mine, KPPS_2024, OfficerSpec(NIK))
    hospital = await issue_key(client, world.other_counterpart, ["coverage:read"])

    assert (await client.get(f"/v1/coverage/{NIK}", headers=hospital.headers)).status_code == 200
    rows = await access_log_rows(session)
    assert [tuple(map(str, row)) for row in rows] == [
        (hospital.key_id, hospital.organization_id, str(NIK), SINGLE, "1")
    ]

    body = {"niks": [str(NIK), str(OTHER), str(NIK), "bad"]}
    response = await client.post("/v1/coverage/checks", json=body, headers=hospital.headers)
    assert response.status_code == 200
    rows = (await access_log_rows(session))[1:]
    batch = [(row.nik, row.endpoint, row.registrations) for row in rows]
    # One row per NIK read; a malformed one was never looked up.
    assert batch == [(NIK, BATCH, 1), (OTHER, BATCH, 0)]

    # Refused requests read nothing and log nothing.
    await client.get("/v1/coverage/123", headers=hospital.headers)
    await client.get(f"/v1/coverage/{NIK}")
    assert len(await access_log_rows(session)) == 3


async def test_listing_is_for_operators_with_filters(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await two_agreements(client, session)
    first = await issue_key(client, world.counterpart, ["coverage:read", "pii:read"])
    second = await issue_key(client, world.other_counterpart, ["coverage:read"])
    await client.get(f"/v1/coverage/{NIK}", headers=first.headers)
    await client.get(f"/v1/coverage/{OTHER}", headers=first.headers)
    await client.get(f"/v1/coverage/{NIK}", headers=second.headers)

    for caller in (first, second):
        response = await client.get("/v1/access-log", headers=caller.headers)
        assert response.status_code == 403 and response.json()["code"] == "operators_only"

    listed = (await client.get("/v1/access-log", headers=ADMIN)).json()
    assert [item["nik"] for item in listed["items"]] == [str(NIK), str(OTHER), str(NIK)]
    assert listed["items"][0]["organization_id"] == second.organization_id
    assert listed["items"][0]["api_key_id"] == second.key_id

    by_nik = (await client.get("/v1/access-log", params={"nik": NIK}, headers=ADMIN)).json()
    assert [item["organization_id"] for item in by_nik["items"]] == [
        second.organization_id,
        first.organization_id,
    ]
    params: dict[str, str | int] = {"organization": first.organization_id, "limit": 1}
    page = (await client.get("/v1/access-log", params=params, headers=ADMIN)).json()
    assert [item["nik"] for item in page["items"]] == [str(OTHER)]
    params["cursor"] = page["next_cursor"]
    page = (await client.get("/v1/access-log", params=params, headers=ADMIN)).json()
    assert [item["nik"] for item in page["items"]] == [str(NIK)]
    assert page["next_cursor"] is None
    by_key = await client.get("/v1/access-log", params={"key": second.key_id}, headers=ADMIN)
    assert len(by_key.json()["items"]) == 1
    today = datetime.now(UTC).date()
    for since, count in ((today - timedelta(days=1), 3), (today + timedelta(days=1), 0)):
        listed = await client.get("/v1/access-log", params={"since": str(since)}, headers=ADMIN)
        assert len(listed.json()["items"]) == count, since

    for params_bad, code in (
        ({"nik": "12345"}, "invalid_nik"),
        ({"organization": "not-a-uuid"}, "validation_error"),
        ({"cursor": "garbage!"}, "invalid_cursor"),
        ({"limit": 0}, "validation_error"),
    ):
        response = await client.get("/v1/access-log", params=params_bad, headers=ADMIN)
        assert response.status_code == 422, params_bad
        assert response.json()["code"] == code


async def test_running_writer_buffers_then_flushes(
    app: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    # A long interval: nothing flushes behind the test's back on the shared connection.
    writer = AccessLogWriter(sessionmaker, spool_dir=tmp_path, interval=3600, max_entries=10**6)
    await writer.start()
    app.state.access_log = writer
    try:
        await client.get(f"/v1/coverage/{NIK}", headers=ADMIN)
        await client.post(
            "/v1/coverage/checks", json={"niks": [str(NIK), str(OTHER)]}, headers=ADMIN
        )
        assert await access_log_rows(session) == []  # not written in the request
        assert writer.waiting == 3
        assert len(spool_files(tmp_path)) == 1
        assert await writer.flush() == 3
        rows = await access_log_rows(session)
        assert [(row.nik, row.endpoint) for row in rows] == [
            (NIK, SINGLE),
            (NIK, BATCH),
            (OTHER, BATCH),
        ]
        assert spool_files(tmp_path) == []  # written, so the spool is dropped
    finally:
        await writer.stop()


async def test_spool_left_by_a_dead_process_is_replayed(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    at = datetime(2024, 11, 20, 3, 0, tzinfo=UTC)
    lines = ReadGroup(at, None, None, BATCH, [(NIK, 1), (OTHER, 0)]).line()
    lines += ReadGroup(at, None, None, SINGLE, [(OTHER, 0)]).line()
    lines += b"2024-11-20T03:00:00+00:00\tcut off by the cr"  # the line the crash interrupted
    (tmp_path / "4242-1-deadbeef.spool").write_bytes(lines)

    writer = AccessLogWriter(sessionmaker, spool_dir=tmp_path)
    assert await writer.replay_orphans() == 3
    assert spool_files(tmp_path) == []
    rows = (
        await session.execute(text("SELECT nik, endpoint, at FROM access_log ORDER BY id"))
    ).all()
    assert [(row.nik, row.endpoint, row.at) for row in rows] == [
        (NIK, BATCH, at),
        (OTHER, BATCH, at),
        (OTHER, SINGLE, at),
    ]


async def test_a_live_writers_spool_is_not_replayed(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    live = AccessLogWriter(sessionmaker, spool_dir=tmp_path)
    live.record(ReadGroup(datetime.now(UTC), None, None, SINGLE, [(NIK, 0)]))
    starting = AccessLogWriter(sessionmaker, spool_dir=tmp_path)
    assert await starting.replay_orphans() == 0  # locked by its owner
    assert len(os.listdir(tmp_path)) == 2  # the segment and the directory lock
    assert await live.flush() == 1
    assert len(await access_log_rows(session)) == 1
    await live.stop()


async def test_an_unwritable_spool_does_not_lose_reads(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    writer = AccessLogWriter(sessionmaker, spool_dir=blocked / "spool")
    writer.record(ReadGroup(datetime.now(UTC), None, None, SINGLE, [(NIK, 0)]))
    assert await writer.flush() == 1
    assert len(await access_log_rows(session)) == 1
