"""Subscriptions: who may have them, which URLs, their secrets, their deliveries.

An endpoint belongs to the caller's organization and receives the events of the agreements
that organization is party to (app/events/repository.py fans them out); operators manage every
organization's endpoints but make none of their own (an operator key has no organization).
"""

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.auth import Principal
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.pagination import Page, decode_id_cursor, keyset_page, page_of
from app.core.versions import check_version, if_match_versions
from app.events import repository as events_repository
from app.models import WebhookEndpoint
from app.webhooks import repository, signing
from app.webhooks.schemas import (
    AttemptRead,
    DeliveryRead,
    SecretRotate,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointSecret,
    WebhookEndpointUpdate,
)
from app.webhooks.urls import Policy, UrlRefused, check_url


async def _checked_url(url: str, policy: Policy) -> str:
    try:
        await check_url(url, policy)
    except UrlRefused as exc:
        raise Unprocessable(
            exc.detail,
            code=exc.code,
            errors=[{"loc": ["body", "url"], "code": exc.code, "msg": exc.detail}],
        ) from None
    return url


def to_read(endpoint: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(endpoint, from_attributes=True)


def _with_secret(endpoint: WebhookEndpoint) -> WebhookEndpointSecret:
    return WebhookEndpointSecret.model_validate(endpoint, from_attributes=True)


async def create_endpoint(
    session: AsyncSession, principal: Principal, *, data: WebhookEndpointCreate, policy: Policy
) -> WebhookEndpointSecret:
    if principal.organization_id is None:
        raise Forbidden(
            "An endpoint belongs to an organization: create it with one of its keys",
            code="no_organization",
        )
    endpoint = WebhookEndpoint(
        organization_id=principal.organization_id,
        url=await _checked_url(data.url, policy),
        description=data.description,
        event_types=[str(t) for t in data.event_types],
        enabled=data.enabled,
        disabled_at=None if data.enabled else clock.now(),
        disabled_reason=None if data.enabled else "created disabled",
        secret=signing.new_secret(),
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    _audit(session, principal, "webhook_endpoint.create", endpoint, {"url": endpoint.url})
    return _with_secret(endpoint)


async def visible_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, principal, endpoint_id, for_update=for_update)
    if endpoint is None:
        raise NotFound("No such webhook endpoint", code="webhook_endpoint_not_found")
    return endpoint


async def list_endpoints(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> Page[WebhookEndpointRead]:
    rows, next_cursor = await keyset_page(
        session,
        repository.endpoints_statement(principal),
        keys=[WebhookEndpoint.id],
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[to_read(row[0]) for row in rows], next_cursor=next_cursor)


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    *,
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    if_match: str | None,
    policy: Policy,
) -> WebhookEndpointRead:
    endpoint = await visible_endpoint(session, principal, endpoint_id, for_update=True)
    versions = if_match_versions(if_match, entity="webhook endpoint", current=endpoint.version)
    check_version("webhook endpoint", endpoint.version, versions)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for field in ("url", "event_types", "enabled"):
        if field in changes and changes[field] is None:
            raise Unprocessable(f"`{field}` cannot be null", code="field_not_nullable")
    if "url" in changes:
        await _checked_url(changes["url"], policy)
    if "event_types" in changes:
        changes["event_types"] = [str(t) for t in changes["event_types"]]
    if changes.get("enabled") is True and not endpoint.enabled:
        changes.update(disabled_at=None, disabled_reason=None, failing_since=None)
    elif changes.get("enabled") is False and endpoint.enabled:
        changes.update(disabled_at=clock.now(), disabled_reason="disabled by its organization")
    updated = await repository.update_endpoint(session, endpoint.id, changes)
    _audit(session, principal, "webhook_endpoint.update", updated, {"fields": sorted(changes)})
    return to_read(updated)


async def delete_endpoint(
    session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
) -> None:
    """Kept with its history, but no longer sent to or shown."""
    endpoint = await visible_endpoint(session, principal, endpoint_id, for_update=True)
    now = clock.now()
    await repository.update_endpoint(
        session,
        endpoint.id,
        {"deleted_at": now, "enabled": False, "disabled_at": now, "disabled_reason": "deleted"},
    )
    _audit(session, principal, "webhook_endpoint.delete", endpoint, {})


async def rotate_secret(
    session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID, data: SecretRotate
) -> WebhookEndpointSecret:
    endpoint = await visible_endpoint(session, principal, endpoint_id, for_update=True)
    keep = timedelta(hours=data.keep_previous_hours)
    updated = await repository.update_endpoint(
        session,
        endpoint.id,
        {
            "secret": signing.new_secret(),
            "previous_secret": endpoint.secret if keep else None,
            "previous_secret_expires_at": clock.now() + keep if keep else None,
        },
    )
    _audit(session, principal, "webhook_endpoint.rotate_secret", updated, {"keep": str(keep)})
    return _with_secret(updated)


async def send_test(
    session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID
) -> DeliveryRead:
    """A `ping` event to this endpoint alone, sent by the dispatcher like any other."""
    endpoint = await visible_endpoint(session, principal, endpoint_id)
    if not endpoint.enabled:
        raise Conflict(
            "The endpoint is disabled; enable it (PATCH) before testing it",
            code="webhook_endpoint_disabled",
        )
    delivery_id = await events_repository.insert_ping(
        session, endpoint.id, {"endpoint_id": str(endpoint.id), "message": "ping"}
    )
    return await _delivery(session, endpoint.id, delivery_id)


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    *,
    endpoint_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[DeliveryRead]:
    endpoint = await visible_endpoint(session, principal, endpoint_id)
    after = decode_id_cursor(cursor) if cursor is not None else None
    rows = await repository.list_deliveries(session, endpoint.id, after=after, limit=limit + 1)
    shown, next_cursor = page_of(rows, limit, lambda row: [row.id])
    attempts = await repository.attempts_of(session, [row.id for row in shown])
    return Page(items=[_delivery_read(row, attempts) for row in shown], next_cursor=next_cursor)


async def retry_delivery(
    session: AsyncSession, principal: Principal, *, endpoint_id: uuid.UUID, delivery_id: int
) -> DeliveryRead:
    """Sends the delivery again now (a delivered one too), with a fresh set of retries."""
    endpoint = await visible_endpoint(session, principal, endpoint_id)
    if await repository.delivery_of(session, endpoint.id, delivery_id) is None:
        raise NotFound("No such delivery of this endpoint", code="delivery_not_found")
    await repository.retry_now(session, delivery_id)
    return await _delivery(session, endpoint.id, delivery_id)


async def _delivery(
    session: AsyncSession, endpoint_id: uuid.UUID, delivery_id: int
) -> DeliveryRead:
    row = await repository.delivery_of(session, endpoint_id, delivery_id)
    assert row is not None
    return _delivery_read(row, await repository.attempts_of(session, [delivery_id]))


def _delivery_read(row: Any, attempts: dict[int, list[Any]]) -> DeliveryRead:
    return DeliveryRead(
        id=row.id,
        event_id=row.public_id,
        event_type=row.type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
        history=[
            AttemptRead.model_validate(a, from_attributes=True) for a in attempts.get(row.id, [])
        ],
    )


def _audit(
    session: AsyncSession,
    principal: Principal,
    action: str,
    endpoint: WebhookEndpoint,
    detail: dict[str, Any],
) -> None:
    audit.record(
        session,
        principal,
        action=action,
        entity_type="webhook_endpoint",
        entity_id=endpoint.id,
        detail=detail,
    )
