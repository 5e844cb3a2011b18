"""SQL of the dispatchers: claiming due deliveries under a lease, and recording each attempt.

A claim takes due deliveries with FOR UPDATE SKIP LOCKED and leases them (`lease_until`) in
one short transaction, so that several dispatchers share the work without sending one
delivery twice at the same time, and a dispatcher that dies leaves its deliveries to whoever
claims after the lease runs out. Per endpoint, a claim takes no more than the endpoint's free
slots (its bound less its deliveries leased by any dispatcher), so a slow receiver holds its
own slots and never the others'.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

CLAIM = """
WITH claimed AS (
    SELECT d.id
    FROM webhook_endpoints w
    CROSS JOIN LATERAL (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $1
          AND (d.lease_until IS NULL OR d.lease_until <= $1)
        ORDER BY d.next_attempt_at, d.id
        LIMIT GREATEST(0, $3 - (
            SELECT count(*) FROM webhook_deliveries x
            WHERE x.endpoint_id = w.id AND x.status = 'pending' AND x.lease_until > $1))
        FOR UPDATE OF d SKIP LOCKED
    ) d
    WHERE w.enabled AND w.deleted_at IS NULL
    LIMIT $4
)
UPDATE webhook_deliveries d SET lease_until = $2
FROM claimed c, events e, webhook_endpoints w
WHERE d.id = c.id AND e.id = d.event_id AND w.id = d.endpoint_id
RETURNING d.id, d.attempts, d.endpoint_id, e.public_id, e.type, e.data, e.created_at, w.url,
          w.secret, CASE WHEN w.previous_secret_expires_at > $1 THEN w.previous_secret END
              AS previous_secret
"""
# One statement per attempt: the attempt, the delivery's new state (only while this claim's
# lease still holds it), and the endpoint's run of failures.
FINISH = """
WITH attempt AS (
    INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error,
                                  response_body)
    VALUES ($1, $2, $3, $4, $5, $6)
), delivery AS (
    UPDATE webhook_deliveries
    SET attempts = attempts + 1, lease_until = NULL,
        status = CASE WHEN $7 THEN 'delivered' WHEN $8::timestamptz IS NULL THEN 'failed'
                      ELSE 'pending' END,
        delivered_at = CASE WHEN $7 THEN $2 END,
        next_attempt_at = COALESCE($8, next_attempt_at)
    WHERE id = $1 AND lease_until = $9
    RETURNING endpoint_id
)
UPDATE webhook_endpoints w
SET failing_since = CASE WHEN $7 THEN NULL ELSE COALESCE(w.failing_since, $2) END,
    enabled = w.enabled AND ($7 OR COALESCE(w.failing_since, $2) > $2 - $10::interval),
    disabled_at = CASE WHEN w.enabled AND NOT $7 AND COALESCE(w.failing_since, $2)
                            <= $2 - $10::interval THEN $2 ELSE w.disabled_at END,
    disabled_reason = CASE WHEN w.enabled AND NOT $7 AND COALESCE(w.failing_since, $2)
                                <= $2 - $10::interval
                           THEN 'every delivery failed since ' || COALESCE(w.failing_since, $2)
                                || ' (last: ' || $5 || ')'
                           ELSE w.disabled_reason END
FROM delivery
WHERE w.id = delivery.endpoint_id
"""


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    attempts: int
    endpoint_id: uuid.UUID
    event_id: str
    type: str
    data: dict[str, Any]
    created_at: datetime
    url: str
    secrets: list[str]
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    body: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


async def claim(
    pool: asyncpg.Pool, *, now: datetime, lease: timedelta, per_endpoint: int, limit: int
) -> list[Claimed]:
    lease_until = now + lease
    rows = await pool.fetch(CLAIM, now, lease_until, per_endpoint, limit)
    return [
        Claimed(
            id=row["id"],
            attempts=row["attempts"],
            endpoint_id=row["endpoint_id"],
            event_id=row["public_id"],
            type=row["type"],
            data=orjson.loads(row["data"]),
            created_at=row["created_at"],
            url=row["url"],
            secrets=[s for s in (row["secret"], row["previous_secret"]) if s],
            lease_until=lease_until,
        )
        for row in rows
    ]


async def finish(
    pool: asyncpg.Pool,
    job: Claimed,
    outcome: Outcome,
    *,
    retry_at: datetime | None,
    disable_after: timedelta,
) -> None:
    """Records the attempt; `retry_at` None after a failure means every retry is used."""
    await pool.execute(
        FINISH,
        job.id,
        outcome.at,
        outcome.status_code,
        outcome.latency_ms,
        outcome.error,
        outcome.body,
        outcome.delivered,
        None if outcome.delivered else retry_at,
        job.lease_until,
        disable_after,
    )
