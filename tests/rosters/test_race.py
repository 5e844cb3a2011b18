"""Concurrent pushes of the same officers under two agreements never protect anyone twice."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.factories import party
from tests.rosters.helpers import PTPS_NOV_DEC, json_body, officer, officer_nik, parties, push
from tests.seed import OfficerSpec, seed_registrations

pytestmark = pytest.mark.concurrency

OVERLAPPING_PAIRS = """
    SELECT count(*) FROM registrations a
    JOIN registrations b ON a.nik = b.nik AND a.id < b.id AND a.coverage && b.coverage
    WHERE a.status IN ('active', 'terminated', 'replaced')
      AND b.status IN ('active', 'terminated', 'replaced')
"""


async def test_two_agreements_pushing_the_same_officers_at_once(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    client = committing_client
    async with committing_app.state.sessionmaker() as session:
        branch = await party(client, "bpjs_branch")
        kpu = await parties(client, session, branch=branch)
        bawaslu = await parties(
            client, session, kind="bawaslu", cohorts=(PTPS_NOV_DEC,), branch=branch
        )
    shared = range(1, 301)
    kpu_rows = [officer(n) for n in shared] + [officer(n) for n in range(1001, 1101)]
    bawaslu_rows = [officer(n, role="PTPS") for n in shared] + [
        officer(n, role="PTPS") for n in range(2001, 2101)
    ]
    first, second = await asyncio.gather(
        push(client, kpu, json_body(kpu_rows)), push(client, bawaslu, json_body(bawaslu_rows))
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    counts = [first.json()["counts"], second.json()["counts"]]
    assert sum(c["created"] for c in counts) == 300 + 200
    assert sum(c["held"] for c in counts) == 300
    assert sum(c["rejected"] for c in counts) == 0

    async with engine.connect() as connection:
        assert (await connection.execute(text(OVERLAPPING_PAIRS))).scalar() == 0
        per_nik = (
            await connection.execute(
                text(
                    "SELECT nik, array_agg(status ORDER BY status) FROM registrations "
                    "GROUP BY nik HAVING count(*) > 1"
                )
            )
        ).all()
    shared_niks = {int(officer(n)["nik"]) for n in shared}
    assert {nik for nik, _ in per_nik} == shared_niks
    assert {tuple(statuses) for _, statuses in per_nik} == {("active", "held")}


async def test_a_push_that_meets_a_concurrent_commit_decides_again(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, engine: AsyncEngine
):
    """The collision made certain: another transaction inserts the NIK, our push decides it is
    free and waits on that row in the exclusion index; the other commits; our push rolls back
    to its savepoint, decides again, and holds the row."""
    client = committing_client
    async with committing_app.state.sessionmaker() as session:
        kpu = await parties(client, session)
        bawaslu = await parties(client, session, kind="bawaslu", cohorts=(PTPS_NOV_DEC,))
    nik = officer_nik(1)
    async with engine.connect() as other:
        transaction = await other.begin()
        async with AsyncSession(bind=other) as session:
            await seed_registrations(
                session,
                agreement=bawaslu.agreement,
                role="PTPS",
                officers=[OfficerSpec(nik=nik)],
                cohort=PTPS_NOV_DEC,
            )
            await session.flush()
        blocker = (await other.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        pushing = asyncio.create_task(push(client, kpu, json_body([officer(1), officer(2)])))
        await _until_blocked_by(engine, blocker, pushing)
        await transaction.commit()
        response = await pushing
    assert response.status_code == 201, response.text
    batch = response.json()
    assert (batch["counts"]["held"], batch["counts"]["created"]) == (1, 1)
    assert batch["timings"]["attempts"] == 2
    async with engine.connect() as connection:
        assert (await connection.execute(text(OVERLAPPING_PAIRS))).scalar() == 0
        status = (
            await connection.execute(
                text("SELECT status FROM registrations WHERE nik = :n AND agreement_id = :a"),
                {"n": nik, "a": kpu.agreement.id},
            )
        ).scalar()
    assert status == "held"


async def _until_blocked_by(
    engine: AsyncEngine, blocker: int, task: asyncio.Task[httpx.Response]
) -> None:
    """Until some backend (the push's INSERT, in the exclusion index) waits on `blocker`."""
    async with engine.connect() as watcher:
        for _ in range(400):
            assert not task.done(), "the push finished without waiting"
            blocked = (
                await watcher.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE :pid = ANY(pg_blocking_pids(pid))"
                    ),
                    {"pid": blocker},
                )
            ).scalar()
            if blocked:
                return
            await asyncio.sleep(0.025)
    raise AssertionError("the push never waited on the concurrent row")
