"""Deliveries to a real receiver on loopback: signed, retried, isolated, each sent once."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.events import service as events
from app.events.types import EventType
from app.main import create_app
from tests.conftest import REPO
from tests.factories import organization_with_key
from tests.rosters.helpers import committed_parties, scalar
from tests.webhooks.helpers import (
    ShiftedClock,
    dispatcher_settings,
    dispatching,
    subscribe,
    until,
    write_events,
)
from tests.webhooks.receiver import receiving

pytestmark = pytest.mark.concurrency


async def test_signed_and_only_to_parties(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    _, outsider = await organization_with_key(committing_client, "kpu")
    with receiving() as receiver:
        mine = await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        await subscribe(committing_client, outsider, receiver.url("/outsider"))
        await write_events(database_url, p.agreement.id, 3)
        async with dispatching(database_url):
            await until(lambda: len(receiver.on("/ok")) == 3)
            await asyncio.sleep(0.5)  # time enough for anything else to arrive
        got = receiver.on("/ok")
        assert receiver.on("/outsider") == []
    for delivery in got:
        event = Webhook(mine["secret"]).verify(delivery.body, delivery.headers)
        assert event["type"] == "claim.created"
        assert delivery.headers["webhook-id"].startswith("evt_")
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "QUJD" * 8).verify(delivery.body, delivery.headers)
    assert len({d.headers["webhook-id"] for d in got}) == 3


async def attempts_recorded(engine: AsyncEngine, count: int) -> None:
    for _ in range(100):
        if await scalar(engine, "SELECT count(*) FROM webhook_attempts") >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} attempts recorded")


async def test_retries_after_500_and_timeout_with_the_same_id(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
) -> None:
    p = await committed_parties(committing_app, committing_client)
    now = ShiftedClock()
    with receiving() as receiver:
        receiver.script = [500, "timeout"]
        endpoint = await subscribe(committing_client, p.counterpart, receiver.url("/script"))
        await write_events(database_url, p.agreement.id, 1)
        async with dispatching(database_url, now=now, webhook_read_timeout=0.5):
            await until(lambda: len(receiver.on("/script")) == 1)
            now.offset += timedelta(seconds=7)  # past the first wait, about 5 s
            await until(lambda: len(receiver.on("/script")) == 2)
            await attempts_recorded(engine, 2)  # the timeout is over before the clock moves on
            await asyncio.sleep(0.3)
            assert len(receiver.on("/script")) == 2  # the next wait is minutes
            now.offset += timedelta(minutes=7)
            await until(lambda: len(receiver.on("/script")) == 3)
            await asyncio.sleep(0.3)
        ids = {r.headers["webhook-id"] for r in receiver.on("/script")}
    assert len(ids) == 1
    page = await committing_client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=p.counterpart
    )
    (delivery,) = page.json()["items"]
    assert delivery["status"] == "delivered"
    assert delivery["event_id"] in ids
    assert [a["error"] for a in delivery["history"]] == ["http_500", "timeout", None]
    assert [a["status_code"] for a in delivery["history"]] == [500, None, 204]
    assert delivery["history"][0]["response_body"] == "nope"


async def test_answer_body_is_kept_to_1_kb(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        endpoint = await subscribe(committing_client, p.counterpart, receiver.url("/big"))
        await write_events(database_url, p.agreement.id, 1)
        async with dispatching(database_url):
            await until(lambda: len(receiver.on("/big")) == 1)
            await asyncio.sleep(0.3)
    page = await committing_client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=p.counterpart
    )
    (attempt,) = page.json()["items"][0]["history"]
    assert attempt["response_body"] == "x" * 1024
    assert page.json()["items"][0]["status"] == "pending"


async def test_nothing_is_sent_for_a_rolled_back_change(
    committing_app: FastAPI,
    committing_client: httpx.AsyncClient,
    database_url: str,
    engine: AsyncEngine,
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        async with committing_app.state.sessionmaker() as session:
            await events.record(session, EventType.CLAIM_CREATED, agreement_id=p.agreement.id)
            await session.rollback()
        async with committing_app.state.sessionmaker() as session:
            await events.record(
                session, EventType.CLAIM_CREATED, agreement_id=p.agreement.id, kept=True
            )
            await session.commit()
        async with dispatching(database_url):
            await until(lambda: len(receiver.on("/ok")) == 1)
            await asyncio.sleep(0.5)
        (only,) = receiver.on("/ok")
    assert json.loads(only.body)["data"]["kept"] is True
    assert await scalar(engine, "SELECT count(*) FROM webhook_deliveries") == 1


async def test_killed_dispatcher_delivers_after_restart(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        await subscribe(committing_client, p.counterpart, receiver.url("/hang-once"))
        await write_events(database_url, p.agreement.id, 1)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEBHOOK_READ_TIMEOUT": "30",
            "WEBHOOK_LEASE_SECONDS": "70",
            "LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(  # noqa: ASYNC220 (started once, not waited on here)
            [sys.executable, "-m", "app", "dispatch"], cwd=REPO, env=env
        )
        try:
            await until(receiver.hung.is_set, seconds=30)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        # The dead one's lease (70 s) runs out; a clock 71 s ahead sees it so.
        now = ShiftedClock()
        now.offset = timedelta(seconds=71)
        async with dispatching(database_url, now=now):
            await until(lambda: len(receiver.on("/hang-once")) == 2)
            await asyncio.sleep(0.3)
        first, second = receiver.on("/hang-once")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    status = await committing_client.get("/v1/webhook-endpoints", headers=p.counterpart)
    endpoint_id = status.json()["items"][0]["id"]
    page = await committing_client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=p.counterpart
    )
    assert page.json()["items"][0]["status"] == "delivered"


async def test_two_dispatchers_deliver_each_event_once(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        await write_events(database_url, p.agreement.id, 1000)
        async with (
            dispatching(database_url, webhook_endpoint_concurrency=16) as one,
            dispatching(database_url, webhook_endpoint_concurrency=16) as two,
        ):
            await until(lambda: len(receiver.on("/ok")) >= 1000, seconds=40)
            await asyncio.sleep(0.5)
        ids = [r.headers["webhook-id"] for r in receiver.on("/ok")]
    assert len(ids) == 1000
    assert len(set(ids)) == 1000
    assert one.sent > 0 and two.sent > 0 and one.sent + two.sent == 1000


async def test_a_slow_receiver_delays_no_other_endpoint(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        await subscribe(committing_client, p.counterpart, receiver.url("/slow"))
        await subscribe(committing_client, p.branch, receiver.url("/ok"))
        await write_events(database_url, p.agreement.id, 10)
        async with dispatching(database_url, webhook_read_timeout=15.0, webhook_lease_seconds=35):
            await until(lambda: len(receiver.on("/ok")) == 10, seconds=3)
            # Meanwhile the slow one holds its 4 slots, and no more, none answered yet.
            await until(lambda: len(receiver.on("/slow")) == 4, seconds=3)
            await asyncio.sleep(0.3)
            assert len(receiver.on("/slow")) == 4


async def test_an_endpoint_failing_for_three_days_is_disabled(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    now = ShiftedClock()
    with receiving() as receiver:
        receiver.script = [503] * 10
        endpoint = await subscribe(committing_client, p.counterpart, receiver.url("/script"))
        await write_events(database_url, p.agreement.id, 1)
        async with dispatching(database_url, now=now):
            await until(lambda: len(receiver.on("/script")) == 1)
            now.offset += timedelta(days=3, minutes=1)
            await until(lambda: len(receiver.on("/script")) == 2)
            # The dispatcher records the second failure after the receiver has answered it.
            url = f"/v1/webhook-endpoints/{endpoint['id']}"
            deadline = time.monotonic() + 10
            read = await committing_client.get(url, headers=p.counterpart)
            while read.json()["enabled"] and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                read = await committing_client.get(url, headers=p.counterpart)
    assert read.json()["enabled"] is False
    assert "http_503" in read.json()["disabled_reason"]


async def test_rotated_secret_signs_beside_the_old_one(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        old = await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        rotated = await committing_client.post(
            f"/v1/webhook-endpoints/{old['id']}/rotate-secret", headers=p.counterpart
        )
        assert rotated.status_code == 200, rotated.text
        ping = await committing_client.post(
            f"/v1/webhook-endpoints/{old['id']}/test", headers=p.counterpart
        )
        assert ping.status_code == 202, ping.text
        async with dispatching(database_url):
            await until(lambda: len(receiver.on("/ok")) == 1)
        (delivery,) = receiver.on("/ok")
    for secret in (old["secret"], rotated.json()["secret"]):
        assert Webhook(secret).verify(delivery.body, delivery.headers)["type"] == "ping"
    assert rotated.json()["secret"] != old["secret"]
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2


async def test_a_commit_wakes_the_dispatcher(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        async with dispatching(database_url, webhook_poll_seconds=60):
            await asyncio.sleep(0.5)  # listening, with its first poll done
            await write_events(database_url, p.agreement.id, 1)
            await until(lambda: len(receiver.on("/ok")) == 1, seconds=3)  # not a poll away


async def test_the_dispatcher_checks_the_url_again_before_sending(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    with receiving() as receiver:
        endpoint = await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        await write_events(database_url, p.agreement.id, 1)
        async with dispatching(database_url, webhook_url_policy="public"):
            for _ in range(100):
                page = await committing_client.get(
                    f"/v1/webhook-endpoints/{endpoint['id']}/deliveries", headers=p.counterpart
                )
                if page.json()["items"][0]["history"]:
                    break
                await asyncio.sleep(0.05)
        assert receiver.on("/ok") == []
    (attempt,) = page.json()["items"][0]["history"]
    assert (attempt["error"], attempt["status_code"]) == ("url_not_https", None)


async def test_the_app_runs_a_dispatcher_in_its_lifespan(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    p = await committed_parties(committing_app, committing_client)
    settings = dispatcher_settings(database_url)
    app = create_app(settings)
    with receiving() as receiver:
        await subscribe(committing_client, p.counterpart, receiver.url("/ok"))
        async with app.router.lifespan_context(app):
            await write_events(database_url, p.agreement.id, 2)
            await until(lambda: len(receiver.on("/ok")) == 2)
