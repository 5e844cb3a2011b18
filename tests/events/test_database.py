"""The database itself keeps the outbox's rules, whatever code writes to it."""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import organization_id
from tests.seed import seed_agreement


async def refused(session: AsyncSession, statement: Any, rows: list[dict[str, Any]] | None) -> str:
    """Run `statement` in a savepoint, expect the database to refuse it; what it said."""
    with pytest.raises(DBAPIError) as caught:
        async with session.begin_nested():
            await session.execute(statement, rows) if rows else await session.execute(statement)
    return str(caught.value.orig)


async def test_events_and_deliveries_refuse_bad_rows(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    branch, office = (
        await organization_id(client, "bpjs_branch"),
        await organization_id(client, "kpu"),
    )
    agreement = await seed_agreement(session, bpjs_branch_id=branch, counterpart_id=office)
    event = {"agreement_id": agreement.id, "type": "claim.created", "data": {}}
    assert "ck_events_type" in await refused(session, insert(Event), [{**event, "type": "x.y"}])
    assert "ck_events_agreement" in await refused(
        session, insert(Event), [{**event, "agreement_id": None}]
    )
    assert "ck_events_data" in await refused(session, insert(Event), [{**event, "data": [1]}])
    [event_id] = (await session.execute(insert(Event).returning(Event.id), [event])).scalars()
    for change in ("UPDATE events SET type = 'claim.created'", "DELETE FROM events"):
        assert "never changed or deleted" in await refused(session, text(change), None)

    endpoint = {
        "organization_id": office,
        "url": "http://127.0.0.1/x",
        "event_types": ["claim.created"],
        "secret": "whsec_abc",
    }
    for bad, name in (
        ({"url": "file:///etc/passwd"}, "ck_webhook_endpoints_url"),
        ({"event_types": []}, "ck_webhook_endpoints_event_types"),
        ({"event_types": ["ping"]}, "ck_webhook_endpoints_event_types"),
        ({"secret": "plain"}, "ck_webhook_endpoints_secret"),
        ({"enabled": False}, "ck_webhook_endpoints_disabled"),
    ):
        assert name in await refused(session, insert(WebhookEndpoint), [{**endpoint, **bad}])
    [endpoint_id] = (
        await session.execute(insert(WebhookEndpoint).returning(WebhookEndpoint.id), [endpoint])
    ).scalars()
    delivery = {"event_id": event_id, "endpoint_id": endpoint_id}
    assert "ck_webhook_deliveries_delivered" in await refused(
        session, insert(WebhookDelivery), [{**delivery, "status": "delivered"}]
    )
    [delivery_id] = (
        await session.execute(insert(WebhookDelivery).returning(WebhookDelivery.id), [delivery])
    ).scalars()
    assert "uq_webhook_deliveries_endpoint_id_event_id" in await refused(
        session, insert(WebhookDelivery), [delivery]
    )
    attempt = {"delivery_id": delivery_id, "attempted_at": datetime.now(UTC), "latency_ms": 3}
    assert "ck_webhook_attempts_outcome" in await refused(
        session, insert(WebhookAttempt), [attempt]
    )
    assert "ck_webhook_attempts_response_body" in await refused(
        session,
        insert(WebhookAttempt),
        [{**attempt, "status_code": 500, "response_body": "x" * 1025}],
    )
