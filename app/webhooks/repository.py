"""SQL of the subscriptions and their deliveries, as their organization reads them."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.models import WebhookAttempt, WebhookEndpoint


def _owned(principal: Principal) -> Any:
    """Where-clause: the endpoints the caller manages (its organization's; operators all)."""
    alive = WebhookEndpoint.deleted_at.is_(None)
    if principal.is_operator:
        return alive
    return alive & (WebhookEndpoint.organization_id == principal.organization_id)


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, _owned(principal))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def endpoints_statement(principal: Principal) -> Select[tuple[WebhookEndpoint]]:
    return select(WebhookEndpoint).where(_owned(principal))


async def update_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, values: dict[str, Any]
) -> WebhookEndpoint:
    stmt = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(**values, version=WebhookEndpoint.version + 1, updated_at=func.now())
        .returning(WebhookEndpoint)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def list_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, *, after: int | None, limit: int
) -> Sequence[Row[Any]]:
    """The endpoint's deliveries, newest first."""
    result = await session.execute(
        text(
            """
            SELECT d.id, e.public_id, e.type, d.status, d.attempts, d.next_attempt_at,
                   d.delivered_at, d.created_at
            FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.endpoint_id = :endpoint_id AND (CAST(:after AS bigint) IS NULL OR d.id < :after)
            ORDER BY d.id DESC
            LIMIT :limit
            """
        ),
        {"endpoint_id": endpoint_id, "after": after, "limit": limit},
    )
    return result.all()


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[int]
) -> dict[int, list[WebhookAttempt]]:
    rows = await session.execute(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.id)
    )
    found: dict[int, list[WebhookAttempt]] = {}
    for attempt in rows.scalars():
        found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


async def delivery_of(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: int
) -> Row[Any] | None:
    result = await session.execute(
        text(
            """
            SELECT d.id, e.public_id, e.type, d.status, d.attempts, d.next_attempt_at,
                   d.delivered_at, d.created_at
            FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.endpoint_id = :endpoint_id AND d.id = :delivery_id
            FOR UPDATE OF d
            """
        ),
        {"endpoint_id": endpoint_id, "delivery_id": delivery_id},
    )
    return result.first()


async def retry_now(session: AsyncSession, delivery_id: int) -> None:
    """Due again at once, with a fresh set of retries; the dispatchers are woken at commit."""
    await session.execute(
        text(
            """
            UPDATE webhook_deliveries
            SET status = 'pending', next_attempt_at = now(), lease_until = NULL, attempts = 0,
                delivered_at = NULL
            WHERE id = :id
            """
        ),
        {"id": delivery_id},
    )
    await wake(session)


async def wake(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_notify('webhook_deliveries', '')"))
