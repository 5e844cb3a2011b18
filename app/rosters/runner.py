"""Running one batch in the caller's transaction: the agreement locked, the file processed, the
batch's result recorded. The synchronous push and the background job both run it."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.auth import Principal
from app.core.database import driver_connection
from app.core.errors import Conflict, Unprocessable
from app.events import service as events
from app.events.types import EventType
from app.rosters import lanes, pipeline
from app.rosters.context import load_context
from app.rosters.lanes import SecondLane
from app.rosters.parsing import RosterFileError
from app.rosters.repository import batches, lookups
from app.rosters.schemas import counts_of


def batch_event(batch_id: uuid.UUID, *, status: str) -> dict[str, Any]:
    """What every roster batch event says of its batch."""
    batch = events.link("roster-batches", batch_id)
    return {
        "batch_id": str(batch_id),
        "status": status,
        "links": {"batch": batch, "errors": f"{batch}/errors"},
    }


def require_active(status: str) -> None:
    if status != "active":
        raise Conflict(
            f"Registrations are taken only while the agreement is active (it is {status})",
            code="agreement_not_active",
        )


async def run_batch(
    session: AsyncSession,
    principal: Principal,
    *,
    job: pipeline.Job,
    file: Any,
    synchronous: bool,
    progress: pipeline.Progress | None = None,
    second: SecondLane | None = None,
) -> pipeline.Result:
    """Processes a batch in `session`'s transaction (and `second`'s, prepared when used) and
    records its result on the batch."""
    connection = await driver_connection(session)
    status = await lookups.lock_agreement_status(connection, job.agreement_id)
    require_active(status or "missing")
    context = await load_context(session, job.agreement_id, job.as_of)
    try:
        result = await pipeline.process(
            session, job=job, file=file, context=context, progress=progress, second=second
        )
    except RosterFileError as exc:
        raise Unprocessable(exc.detail, code=exc.code) from exc
    refused = not result.applied
    # Two connections: completed once the second one's half has committed (complete_applied).
    deferred = second is not None and result.applied
    if refused and synchronous:
        # A refused synchronous push answers (and replays) 422; a background one was 202.
        await batches.set_batch(session, job.batch_id, response_status=422)
    await batches.set_batch(
        session,
        job.batch_id,
        status="failed" if refused else "processing" if deferred else "completed",
        applied=result.applied,
        error="roster_rejected" if refused else None,
        error_detail=(
            f"{result.counts.get('rejected', 0)} rows were rejected, so nothing was applied "
            "(atomic=true); fix them and send the roster again"
            if refused
            else None
        ),
        counts=result.counts,
        warnings=result.warnings,
        total_rows=result.total_rows,
        processed_rows=result.total_rows,
        columns=result.columns,
        delimiter=result.delimiter,
        timings=result.timings,
        finished_at=clock.now(),
    )
    if not deferred:
        await _announce(
            session,
            job.batch_id,
            job.agreement_id,
            refused=refused,
            total_rows=result.total_rows,
            counts=result.counts,
        )
    audit.record(
        session,
        principal,
        action="roster_batch.complete" if result.applied else "roster_batch.refuse",
        entity_type="roster_batch",
        entity_id=job.batch_id,
        detail={"counts": result.counts},
    )
    await session.flush()
    return result


async def complete_applied(session: AsyncSession, batch_id: uuid.UUID | None = None) -> int:
    """Completes and announces the batches applied on two connections whose second half has
    committed (`batch_id`, or any that no process holds): how many."""
    completed = await batches.complete_applied(
        session, gid_sql=lanes.gid_sql("id"), batch_id=batch_id
    )
    for id_, agreement_id, total_rows, counts in completed:
        await _announce(
            session, id_, agreement_id, refused=False, total_rows=total_rows, counts=counts
        )
    return len(completed)


async def _announce(
    session: AsyncSession,
    batch_id: uuid.UUID,
    agreement_id: uuid.UUID,
    *,
    refused: bool,
    total_rows: int,
    counts: dict[str, int],
) -> None:
    await events.record(
        session,
        EventType.ROSTER_BATCH_FAILED if refused else EventType.ROSTER_BATCH_COMPLETED,
        agreement_id=agreement_id,
        **batch_event(batch_id, status="failed" if refused else "completed"),
        error="roster_rejected" if refused else None,
        total_rows=total_rows,
        counts=counts_of(counts).model_dump(),  # every outcome, as the batch reads
    )
