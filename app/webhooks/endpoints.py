"""HTTP endpoints of the webhooks domain: subscriptions, their secret, test, deliveries."""

import uuid
from typing import Annotated

from fastapi import Body, Header, Path, Request
from fastapi.responses import Response

from app.core.database import SessionDep
from app.core.idempotency import IdempotencyKeyHeader, idempotent
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.core.settings import Settings
from app.core.versions import etag
from app.webhooks import running, service
from app.webhooks.auth import WebhooksWrite
from app.webhooks.schemas import (
    DeliveryRead,
    SecretRotate,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointSecret,
    WebhookEndpointUpdate,
)
from app.webhooks.urls import Policy

router = api_router(prefix="/v1", tags=["webhooks"], lifespan=running.lifespan)

EndpointId = Annotated[uuid.UUID, Path(description="Webhook endpoint id")]
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Delivery id")]
IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match", max_length=200, description='The `ETag` of your last read, e.g. `"3"`'
    ),
]
OWN = (
    "An organization manages its own endpoints (operators: every organization's); another's "
    "ids answer 404 like missing ones."
)


def _policy(request: Request) -> Policy:
    settings: Settings = request.app.state.settings
    return settings.url_policy


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=WebhookEndpointSecret,
    summary="Subscribe a URL to event types; the signing secret is shown once",
    description=(
        "The endpoint receives the events of the agreements its organization is party to, of "
        "the `event_types` it names. In production the URL is https and may not resolve to a "
        "loopback, private, link-local or metadata address (422 `url_not_https`, "
        "`url_not_public`, `url_unresolvable`); WEBHOOK_URL_POLICY relaxes it. Keep `secret` "
        f"(`whsec_...`): it is not shown again. {OWN}"
    ),
    responses=problems(403, 409, 415),
)
async def create_endpoint(
    request: Request,
    data: WebhookEndpointCreate,
    session: SessionDep,
    principal: WebhooksWrite,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    async def create() -> Response:
        read = await service.create_endpoint(session, principal, data=data, policy=_policy(request))
        headers = {**etag(read.version), "Location": f"/v1/webhook-endpoints/{read.id}"}
        return json_response(read, 201, headers)

    return await idempotent(session, principal, request, idempotency_key, create)


@router.get(
    "/webhook-endpoints",
    response_model=Page[WebhookEndpointRead],
    summary="List the organization's webhook endpoints",
    description=OWN,
    responses=problems(403),
)
async def list_endpoints(
    session: SessionDep,
    principal: WebhooksWrite,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[WebhookEndpointRead]:
    return await service.list_endpoints(session, principal, limit=limit, cursor=cursor)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=WebhookEndpointRead,
    summary="Read a webhook endpoint (and why it was disabled, if it was)",
    description=OWN,
    responses=problems(403, 404),
)
async def get_endpoint(
    endpoint_id: EndpointId, response: Response, session: SessionDep, principal: WebhooksWrite
) -> WebhookEndpointRead:
    read = service.to_read(await service.visible_endpoint(session, principal, endpoint_id))
    response.headers.update(etag(read.version))
    return read


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=WebhookEndpointRead,
    summary="Change the URL, event types, description or enabled (`If-Match` required)",
    description=(
        "Enabling a disabled endpoint clears its reason and its waiting deliveries resume; the "
        "events of the time it was disabled are not queued for it, but are in `GET /v1/events`."
    ),
    responses=problems(403, 404, 412, 415, 428),
)
async def update_endpoint(
    request: Request,
    endpoint_id: EndpointId,
    data: WebhookEndpointUpdate,
    response: Response,
    session: SessionDep,
    principal: WebhooksWrite,
    if_match: IfMatchHeader = None,
) -> WebhookEndpointRead:
    read = await service.update_endpoint(
        session,
        principal,
        endpoint_id=endpoint_id,
        data=data,
        if_match=if_match,
        policy=_policy(request),
    )
    response.headers.update(etag(read.version))
    return read


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=WebhookEndpointSecret,
    summary="A new signing secret, shown once; the old one keeps signing for a while",
    description=(
        "During `keep_previous_hours` (default 24) every delivery carries two signatures, one "
        "per secret, as the Standard Webhooks specification allows, so that receivers can "
        "switch without losing any."
    ),
    responses=problems(403, 404, 415),
)
async def rotate_secret(
    endpoint_id: EndpointId,
    session: SessionDep,
    principal: WebhooksWrite,
    data: Annotated[SecretRotate | None, Body(examples=[{"keep_previous_hours": 24}])] = None,
) -> WebhookEndpointSecret:
    return await service.rotate_secret(
        session, principal, endpoint_id=endpoint_id, data=data or SecretRotate()
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/test",
    status_code=202,
    response_model=DeliveryRead,
    summary="Send a `ping` event to this endpoint",
    description="Queued like any delivery; read its attempts at `.../deliveries`.",
    responses=problems(403, 404, 409),
)
async def send_test(
    endpoint_id: EndpointId, session: SessionDep, principal: WebhooksWrite
) -> DeliveryRead:
    return await service.send_test(session, principal, endpoint_id=endpoint_id)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[DeliveryRead],
    summary="The endpoint's deliveries, newest first, with every attempt",
    description=(
        "Each attempt records the answer's status, the latency, the error (`timeout`, "
        "`connection_failed`, `http_500`, ...) and the first 1 KB of the answer. Failures "
        "retry after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (with jitter), then the "
        "delivery is `failed`; an endpoint whose deliveries all failed for 3 days is disabled, "
        "with the reason in `disabled_reason`."
    ),
    responses=problems(403, 404),
)
async def list_deliveries(
    endpoint_id: EndpointId,
    session: SessionDep,
    principal: WebhooksWrite,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[DeliveryRead]:
    return await service.list_deliveries(
        session, principal, endpoint_id=endpoint_id, limit=limit, cursor=cursor
    )


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryRead,
    summary="Send a delivery again now, with a fresh set of retries",
    description=(
        "A failed delivery (or a delivered one, to replay it) is due at once, with the same "
        f"`webhook-id`; its earlier attempts stay in its history. {OWN}"
    ),
    responses=problems(403, 404),
)
async def retry_delivery(
    endpoint_id: EndpointId, delivery_id: DeliveryId, session: SessionDep, principal: WebhooksWrite
) -> DeliveryRead:
    return await service.retry_delivery(
        session, principal, endpoint_id=endpoint_id, delivery_id=delivery_id
    )


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=204,
    summary="Delete a webhook endpoint: nothing more is sent to it",
    description=f"Its deliveries and their attempts are kept. {OWN}",
    responses=problems(403, 404),
)
async def delete_endpoint(
    endpoint_id: EndpointId, session: SessionDep, principal: WebhooksWrite
) -> Response:
    await service.delete_endpoint(session, principal, endpoint_id=endpoint_id)
    return Response(status_code=204)
