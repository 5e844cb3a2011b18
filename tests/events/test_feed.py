"""GET /v1/events: the parties' events in commit-safe order, pages without gaps, bad input."""

import asyncio
import random
import uuid

import httpx
import pytest
from fastapi import FastAPI

from app.events import service as events
from app.events.types import EventType
from tests.factories import issue_key, organization_with_key
from tests.problems import assert_problem
from tests.rosters.helpers import committed_parties
from tests.webhooks.helpers import write_events


async def read_all(
    client: httpx.AsyncClient, headers: dict[str, str], cursor: str | None, **params: str
) -> tuple[list[dict[str, object]], str | None]:
    """Every page after `cursor`, until an empty one; the items and the cursor to keep."""
    items: list[dict[str, object]] = []
    while True:
        query = {**params, "limit": "7", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/events", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["items"]:
            return items, cursor
        items += page["items"]
        cursor = page["next_cursor"]


@pytest.mark.concurrency
async def test_the_feed_pages_without_gaps_while_events_are_written(
    committing_app: FastAPI, committing_client: httpx.AsyncClient
) -> None:
    p = await committed_parties(committing_app, committing_client)
    written: list[int] = []

    async def writer(n: int) -> None:
        # Transactions begin in one order and commit in another: an event of an earlier
        # transaction (smaller txid) lands after later ones.
        async with committing_app.state.sessionmaker() as session:
            await events.record(session, EventType.CLAIM_CREATED, agreement_id=p.agreement.id, n=n)
            await asyncio.sleep(random.uniform(0, 0.05))
            await session.commit()
        written.append(n)

    # The plain case first: the earlier transaction commits last.
    async with committing_app.state.sessionmaker() as early:
        await events.record(early, EventType.CLAIM_CREATED, agreement_id=p.agreement.id, n=-1)
        async with committing_app.state.sessionmaker() as late:
            await events.record(late, EventType.CLAIM_CREATED, agreement_id=p.agreement.id, n=-2)
            await late.commit()
        seen, cursor = await read_all(committing_client, p.counterpart, None)
        assert seen == []  # not yet: an older transaction could still add before it
        await early.commit()
    seen, cursor = await read_all(committing_client, p.counterpart, cursor)
    assert [item["data"]["n"] for item in seen] == [-1, -2]  # type: ignore[index]

    seen = []
    writers = [asyncio.create_task(writer(n)) for n in range(60)]
    while not all(w.done() for w in writers):
        page, cursor = await read_all(committing_client, p.counterpart, cursor)
        seen += page
        await asyncio.sleep(0.01)
    page, cursor = await read_all(committing_client, p.counterpart, cursor)
    seen += page
    numbers = [item["data"]["n"] for item in seen]  # type: ignore[index]
    assert sorted(numbers) == sorted(written) == list(range(60))


@pytest.mark.concurrency
async def test_an_organization_reads_the_events_of_its_agreements_only(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, database_url: str
) -> None:
    mine = await committed_parties(committing_app, committing_client)
    theirs = await committed_parties(committing_app, committing_client)
    await write_events(database_url, mine.agreement.id, 3, "claim.created")
    await write_events(database_url, theirs.agreement.id, 2, "agreement.status_changed")
    await write_events(database_url, mine.agreement.id, 1, "agreement.status_changed")
    items, _ = await read_all(committing_client, mine.branch, None)
    assert [i["agreement_id"] for i in items] == [str(mine.agreement.id)] * 4
    assert all(str(i["id"]).startswith("evt_") for i in items)
    typed, _ = await read_all(committing_client, mine.branch, None, type="agreement.status_changed")
    assert len(typed) == 1
    # Another organization's agreement: nothing, as an agreement with no events.
    other, _ = await read_all(
        committing_client, mine.branch, None, agreement_id=str(theirs.agreement.id)
    )
    assert other == []


async def test_bad_input_of_the_feed(client: httpx.AsyncClient) -> None:
    organization, headers = await organization_with_key(client, "kpu")
    bad = [
        ({"type": "claim.deleted"}, "unknown_event_type"),
        ({"type": "ping"}, "unknown_event_type"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
        ({"cursor": "WyIxIl0"}, "invalid_cursor"),  # one value, not two
        ({"agreement_id": "12"}, "validation_error"),
        ({"limit": "0"}, "validation_error"),
    ]
    for params, code in bad:
        assert_problem(await client.get("/v1/events", params=params, headers=headers), 422, code)
    no_scope = await issue_key(client, organization["id"], ["claims:write"])
    assert_problem(await client.get("/v1/events", headers=no_scope.headers), 403, "missing_scope")
    assert_problem(await client.get("/v1/events"), 401, "unauthorized")
    empty = await client.get(
        "/v1/events", params={"agreement_id": str(uuid.uuid4())}, headers=headers
    )
    assert empty.json() == {"items": [], "next_cursor": None}
