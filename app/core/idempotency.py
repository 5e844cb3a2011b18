"""Idempotency-Key for creating requests: replay the first answer, refuse a changed body."""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated

import orjson
from fastapi import Header, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Principal
from app.core.errors import Conflict, Unprocessable
from app.models import IdempotencyRecord

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a create safely: the same key and body replay the first response.",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"


async def body_hash(request: Request) -> str:
    return hashlib.sha256(canonical_json(await request.body())).hexdigest()


def canonical_json(body: bytes) -> bytes:
    """The body's JSON in one spelling (keys sorted, no whitespace), so that the same JSON
    sent again with other spacing or key order is a replay; a body that is not JSON as sent."""
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:
        return body


async def idempotent(
    session: AsyncSession,
    principal: Principal,
    request: Request,
    key: str | None,
    create: Callable[[], Awaitable[Response]],
    *,
    request_hash: str | None = None,
) -> Response:
    """Run `create` once per (caller, key); the stored answer commits with the work it describes."""
    if key is None:
        return await create()
    digest = request_hash or await body_hash(request)
    # A transaction-scoped lock: a second request with the key while the first runs gets 409.
    locked = await session.scalar(
        select(func.pg_try_advisory_xact_lock(func.hashtextextended(f"{principal.owner}:{key}", 0)))
    )
    stored = await session.get(IdempotencyRecord, (principal.owner, key))
    if not locked and stored is None:
        raise Conflict(
            "A request with this Idempotency-Key is still being processed",
            code="idempotency_in_flight",
        )
    # Held by another replay of a finished request (another process, maybe): replay too.
    if stored is not None:
        return _replay(stored, request, digest)
    response = await create()
    if 200 <= response.status_code < 300:
        session.add(
            IdempotencyRecord(
                owner=principal.owner,
                key=key,
                method=request.method,
                path=request.url.path,
                request_hash=digest,
                response_status=response.status_code,
                response_body=bytes(response.body),
                response_headers={
                    name: value
                    for name, value in response.headers.items()
                    if name.lower() in ("location", "content-type", "etag")
                },
            )
        )
        await session.flush()
    return response


def _replay(stored: IdempotencyRecord, request: Request, digest: str) -> Response:
    if (stored.method, stored.path, stored.request_hash) != (
        request.method,
        request.url.path,
        digest,
    ):
        raise Unprocessable(
            "This Idempotency-Key was used with a different request", code="idempotency_key_reused"
        )
    headers = dict(stored.response_headers)
    headers[REPLAYED_HEADER] = "true"
    return Response(stored.response_body, status_code=stored.response_status, headers=headers)
