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
            WHERE x.endpoint_id = w.id AND x.status = 'pending' AND x.lease_until IS NOT NULL
              AND x.lease_until > $1))
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
# One statement for a batch of attempts: the attempts, the deliveries' new state (only where
# the claim's lease still holds them: an expired one may be another dispatcher's now), and each
# endpoint's run of failures (a delivered attempt ends it; three days of it disable the
# endpoint, with the reason).
FINISH = """
WITH results AS (
    SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::int[], $4::int[], $5::text[],
                         $6::text[], $7::timestamptz[], $8::timestamptz[])
        AS r(delivery_id, at, status_code, latency_ms, error, body, retry_at, lease_until)
), attempts AS (
    INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error,
                                  response_body)
    SELECT delivery_id, at, status_code, latency_ms, error, body FROM results
), deliveries AS (
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, lease_until = NULL,
        status = CASE WHEN r.error IS NULL THEN 'delivered'
                      WHEN r.retry_at IS NULL THEN 'failed' ELSE 'pending' END,
        delivered_at = CASE WHEN r.error IS NULL THEN r.at END,
        next_attempt_at = COALESCE(r.retry_at, d.next_attempt_at)
    FROM results r
    WHERE d.id = r.delivery_id AND d.lease_until = r.lease_until
    RETURNING d.endpoint_id, r.at, r.error
), runs AS (
    SELECT endpoint_id, bool_or(error IS NULL) AS delivered, min(at) AS first_at,
           max(at) AS last_at, (array_agg(error ORDER BY at DESC))[1] AS last_error
    FROM deliveries GROUP BY endpoint_id
), judged AS (
    SELECT r.*, w.id, COALESCE(w.failing_since, r.first_at) AS since,
           w.enabled AND NOT r.delivered
               AND COALESCE(w.failing_since, r.first_at) <= r.last_at - $9::interval AS disable
    FROM runs r JOIN webhook_endpoints w ON w.id = r.endpoint_id
    WHERE NOT r.delivered OR w.failing_since IS NOT NULL
)
UPDATE webhook_endpoints w
SET failing_since = CASE WHEN j.delivered THEN NULL ELSE j.since END,
    enabled = w.enabled AND NOT j.disable,
    disabled_at = CASE WHEN j.disable THEN j.last_at ELSE w.disabled_at END,
    disabled_reason = CASE WHEN j.disable
                           THEN 'every delivery failed for 3 days, since ' || j.since
                                || ' (last: ' || COALESCE(j.last_error, '?') || ')'
                           ELSE w.disabled_reason END
FROM judged j
WHERE w.id = j.id
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


@dataclass(frozen=True, slots=True)
class Result:
    job: Claimed
    outcome: Outcome
    retry_at: datetime | None  # after a failure; None when every retry is used


async def finish(pool: asyncpg.Pool, results: list[Result], *, disable_after: timedelta) -> None:
    """Records a batch of attempts in one statement."""
    await pool.execute(
        FINISH,
        [r.job.id for r in results],
        [r.outcome.at for r in results],
        [r.outcome.status_code for r in results],
        [r.outcome.latency_ms for r in results],
        [r.outcome.error for r in results],
        [r.outcome.body for r in results],
        [None if r.outcome.delivered else r.retry_at for r in results],
        [r.job.lease_until for r in results],
        disable_after,
    )
