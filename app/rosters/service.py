"""Pushing a roster: who may, idempotency, and the synchronous or background path, in one call.

`push_roster` is what the endpoint calls; it returns what the push came to (`Pushed`), which
the endpoint turns into the 201, 202 or 422 answer.
"""

import hashlib
import uuid
from collections.abc import AsyncIterable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import access
from app.agreements import service as agreements_service
from app.agreements.access import PartyRole
from app.core import audit, clock
from app.core.auth import Principal
from app.core.database import release_connection
from app.core.errors import Conflict, Forbidden, Unprocessable
from app.core.settings import Settings
from app.models import Agreement, RosterBatch, RosterBatchRow
from app.rosters import pipeline, survey
from app.rosters.context import role_vocabulary
from app.rosters.jobs import Launcher
from app.rosters.options import RosterParams, body_format, format_from_content_type, read_options
from app.rosters.parsing import RoleVocabulary, RosterFileError, RosterFormat, xlsx_rows
from app.rosters.repository import batches
from app.rosters.runner import require_active, run_batch
from app.rosters.upload import Upload, receive_upload

# A refused atomic roster answers with its first rejected rows; the rest are a GET away.
PROBLEMS_IN_REFUSAL = 50


@dataclass(frozen=True, slots=True)
class Pushed:
    """What a push came to: the batch, the status to answer with, whether it is a replay,
    and for a refused atomic roster (422) its first problem rows."""

    batch: RosterBatch
    status_code: int
    replayed: bool = False
    problems: list[RosterBatchRow] = field(default_factory=list)


async def push_roster(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement_id: uuid.UUID,
    body: AsyncIterable[bytes],
    params: RosterParams,
    settings: Settings,
    launch: Launcher,
) -> Pushed:
    """Receives the body and registers its officers, or replays the batch of the same
    Idempotency-Key; a roster of more than `sync_roster_max_rows` rows is left to `launch`,
    which starts it once the request's transaction has committed."""
    agreement = await writable_agreement(session, principal, agreement_id)
    format_from_content_type(params.content_type)  # 415 before reading a byte of the body
    roles = await role_vocabulary(session)
    # No connection is held while the body arrives and is first read: a slow client or a
    # hostile file costs no database connection.
    await release_connection(session)
    with ExitStack() as owned:
        upload = await receive_upload(body, params.content_type)
        owned.callback(upload.close)
        fmt, inspection = await _inspect(upload, params, settings, roles)
        pushed, job = await _submit(
            session,
            principal,
            agreement=agreement,
            upload=upload,
            params=params,
            fmt=fmt,
            inspection=inspection,
            settings=settings,
        )
        if job is not None:
            launch(job, upload, principal)
            owned.pop_all()  # the job closes the upload when it ends
    if pushed.status_code != 422:
        return pushed
    problems = await batches.problem_rows(
        session, pushed.batch.id, after=0, limit=PROBLEMS_IN_REFUSAL
    )
    return replace(pushed, problems=problems)


async def _inspect(
    upload: Upload, params: RosterParams, settings: Settings, roles: RoleVocabulary
) -> tuple[RosterFormat, survey.Inspection]:
    """The body's format, and its rows counted (to `sync_roster_max_rows` + 1) in a worker
    thread: an XLSX is checked for bombs and read here, before any connection is taken."""
    if upload.size == 0:
        raise Unprocessable("The body is empty", code="roster_empty")
    fmt = body_format(params.content_type, upload.head, part_type=upload.content_type)
    limit = settings.sync_roster_max_rows
    try:
        inspection = await to_thread.run_sync(
            survey.inspect, upload.file, fmt, params.sheet, limit, roles
        )
    except RosterFileError as exc:
        raise Unprocessable(exc.detail, code=exc.code) from exc
    return fmt, inspection


async def writable_agreement(
    session: AsyncSession, principal: Principal, agreement_id: uuid.UUID
) -> Agreement:
    """The agreement when the caller is its counterpart (or an operator) and it is active."""
    agreement = await agreements_service.get_visible_agreement(session, principal, agreement_id)
    if not access.acts_as(principal, agreement, PartyRole.COUNTERPART):
        raise Forbidden(
            "Only the agreement's counterpart (the KPU or Bawaslu office) pushes its rosters",
            code="not_counterpart",
        )
    require_active(agreement.status)
    return agreement


async def _submit(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement: Agreement,
    upload: Upload,
    params: RosterParams,
    fmt: RosterFormat,
    inspection: survey.Inspection,
    settings: Settings,
) -> tuple[Pushed, pipeline.Job | None]:
    """The batch made (and processed, unless it is left to the background job given back),
    or the one the Idempotency-Key made before."""
    fingerprint = _fingerprint(agreement.id, params, fmt, upload.sha256)

    if params.idempotency_key is not None:
        replayed = await _replay(session, principal, params.idempotency_key, fingerprint)
        if replayed is not None:
            return Pushed(replayed, replayed.response_status or 201, replayed=True), None

    mode, atomic, as_of = read_options(params, inspection.options)
    background = inspection.rows > settings.sync_roster_max_rows

    batch = RosterBatch(
        agreement_id=agreement.id,
        organization_id=principal.organization_id,
        api_key_id=principal.key_id,
        format=fmt.value,
        mode=mode,
        atomic=atomic,
        idempotency_key=params.idempotency_key,
        request_hash=fingerprint,
        response_status=202 if background else 201,
        status="received" if background else "processing",
        total_rows=(
            _estimate(fmt, inspection.rows, upload, params.sheet) if background else inspection.rows
        ),
        processed_rows=0,
        file_date=as_of,
        counts={},
        warnings=[],
        timings={},
    )
    session.add(batch)
    await session.flush()
    audit.record(
        session,
        principal,
        action="roster_batch.create",
        entity_type="roster_batch",
        entity_id=batch.id,
        detail={"agreement_id": str(agreement.id), "format": fmt.value, "mode": mode},
    )
    job = pipeline.Job(
        batch_id=batch.id,
        agreement_id=agreement.id,
        format=fmt,
        sheet=params.sheet,
        mode=mode,
        atomic=atomic,
        as_of=as_of,
    )
    if background:
        await session.refresh(batch)
        return Pushed(batch, 202), job

    batch.started_at = clock.now()
    await session.flush()
    await run_batch(session, principal, job=job, file=upload.file, synchronous=True)
    batch = await _reload(session, batch.id)
    return Pushed(batch, batch.response_status or 201), None


def _estimate(fmt: RosterFormat, counted: int, upload: Upload, sheet: str | None) -> int:
    """Rows to expect, for progress until the file is read: a text file's line count, a
    workbook's sheet height."""
    if fmt in (RosterFormat.CSV, RosterFormat.NDJSON):
        return max(counted, upload.newlines - 1)
    if fmt is RosterFormat.XLSX:
        return max(counted, xlsx_rows.rows_estimate(upload.file, sheet) - 1)
    return counted


def _fingerprint(
    agreement_id: uuid.UUID, params: RosterParams, fmt: RosterFormat, body_sha256: str
) -> str:
    parts = (
        str(agreement_id),
        params.mode or "",
        "" if params.atomic is None else str(params.atomic),
        params.sheet or "",
        params.as_of.isoformat() if params.as_of else "",
        fmt.value,
        body_sha256,
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


async def _replay(
    session: AsyncSession, principal: Principal, key: str, fingerprint: str
) -> RosterBatch | None:
    """The batch the key already made with this very request; None when the key is free."""
    if not await batches.try_lock(session, f"roster_key:{principal.organization_id}:{key}"):
        raise Conflict(
            "A roster with this Idempotency-Key is still being received",
            code="idempotency_in_flight",
        )
    existing = await batches.find_batch_by_key(session, principal.organization_id, key)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used with a different roster", code="idempotency_key_reused"
        )
    if existing.status == "failed" and existing.error == "interrupted":
        # Nothing of it was applied: the key may start a new batch.
        await batches.release_key(session, existing.id)
        return None
    return existing


async def _reload(session: AsyncSession, batch_id: uuid.UUID) -> RosterBatch:
    batch = await batches.get_batch(session, batch_id)
    assert batch is not None
    return batch
