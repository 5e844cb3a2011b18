"""Roster pushes: who may push, idempotency, the synchronous or background path, batch reads."""

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from anyio import to_thread
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agreements import access
from app.agreements import service as agreements_service
from app.agreements.access import PartyRole
from app.core import audit
from app.core.accesslog import AccessLogWriter, record_session_reads
from app.core.auth import Principal, ensure_any
from app.core.clock import JAKARTA, today
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    UnsupportedMediaType,
    problem_response,
)
from app.core.pagination import Page, decode_id_cursor, encode_cursor
from app.core.responses import json_response
from app.core.settings import Settings
from app.models import Agreement, RosterBatch
from app.nik import nik_to_int
from app.rosters import errors_csv, pipeline, repository
from app.rosters.lanes import SecondLane
from app.rosters.parsing import RosterFileError, RosterFormat, detect_format
from app.rosters.schemas import RosterBatchRead, RosterMode, RosterRowProblem, counts_of
from app.rosters.upload import Upload
from app.rosters.validation import CohortInfo, RosterContext, build_region_index

REPLAYED_HEADER = "Idempotent-Replayed"
READ_SCOPES = ("rosters:write", "registrations:read")
# Problem rows hold NIKs and names: the uploader, or a key allowed to read personal data.
ERRORS_SCOPES = ("rosters:write", "pii:read")
ENDPOINT_ERRORS = "GET /v1/roster-batches/{id}/errors"
SNIFFED_CONTENT_TYPES = ("application/octet-stream",)
ACCEPTED_TYPES = (
    "application/json, application/x-ndjson, text/csv or "
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)
PROBLEMS_IN_REFUSAL = 50
BODY_OPTIONS = frozenset({"mode", "atomic", "as_of"})


# ---------------------------------------------------------------------------------------------
# Who may push


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
    _require_active(agreement.status)
    return agreement


def _require_active(status: str) -> None:
    if status != "active":
        raise Conflict(
            f"Registrations are taken only while the agreement is active (it is {status})",
            code="agreement_not_active",
        )


def format_from_content_type(content_type: str | None) -> RosterFormat | None:
    """The format a Content-Type names; None when the body should be sniffed; 415 otherwise."""
    if content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if not media or media in SNIFFED_CONTENT_TYPES:
        return None
    fmt = detect_format(content_type, b"")
    if fmt is None:
        raise UnsupportedMediaType(f"Send the roster as {ACCEPTED_TYPES}")
    return fmt


# ---------------------------------------------------------------------------------------------
# Pushing


@dataclass(frozen=True, slots=True)
class RosterParams:
    """What the request says besides the body (query and headers)."""

    content_type: str | None
    mode: RosterMode | None
    atomic: bool | None
    sheet: str | None
    as_of: date | None
    idempotency_key: str | None


@dataclass(slots=True)
class Submitted:
    batch: RosterBatch
    status_code: int
    replayed: bool = False
    # Set when the batch is to be processed in the background, once the request committed.
    job: pipeline.Job | None = None


async def submit_roster(
    session: AsyncSession,
    principal: Principal,
    *,
    agreement: Agreement,
    upload: Upload,
    params: RosterParams,
    settings: Settings,
) -> Submitted:
    if upload.size == 0:
        raise Unprocessable("The body is empty", code="roster_empty")
    fmt = format_from_content_type(params.content_type) or detect_format(None, upload.head)
    if fmt is None:
        raise UnsupportedMediaType(f"Cannot tell the roster's format; send it as {ACCEPTED_TYPES}")
    fingerprint = _fingerprint(agreement.id, params, fmt, upload.sha256)

    if params.idempotency_key is not None:
        replay = await _replay(session, principal, params.idempotency_key, fingerprint)
        if replay is not None:
            return replay

    limit = settings.sync_roster_max_rows
    try:
        inspection = await to_thread.run_sync(
            pipeline.inspect, upload.file, fmt, params.sheet, limit
        )
    except RosterFileError as exc:
        raise Unprocessable(exc.detail, code=exc.code) from exc
    mode, atomic, as_of = _options(params, inspection.options)
    background = inspection.rows > limit

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
        total_rows=_estimate(fmt, inspection.rows, upload) if background else inspection.rows,
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
        return Submitted(batch, 202, job=job)

    batch.started_at = datetime.now(JAKARTA)
    await session.flush()
    await run_job(session, principal, job=job, file=upload.file, synchronous=True)
    batch = await _reload(session, batch.id)
    return Submitted(batch, batch.response_status or 201)


async def run_job(
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
    connection = await repository.raw_connection(session)
    status = await repository.lock_agreement_status(connection, job.agreement_id)
    _require_active(status or "missing")
    context = await load_context(session, job.agreement_id, job.as_of)
    try:
        result = await pipeline.process(
            session, job=job, file=file, context=context, progress=progress, second=second
        )
    except RosterFileError as exc:
        raise Unprocessable(exc.detail, code=exc.code) from exc
    refused = not result.applied
    if refused and synchronous:
        # A refused synchronous push answers (and replays) 422; a background one was 202.
        await repository.set_batch(session, job.batch_id, response_status=422)
    await repository.set_batch(
        session,
        job.batch_id,
        status="failed" if refused else "completed",
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
        finished_at=datetime.now(JAKARTA),
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


async def load_context(
    session: AsyncSession, agreement_id: uuid.UUID, as_of: date
) -> RosterContext:
    agreement = await repository.get_agreement(session, agreement_id)
    if agreement is None:
        raise NotFound("No such agreement", code="agreement_not_found")
    by_role: dict[str, list[CohortInfo]] = {}
    for row in await repository.cohorts_of(session, agreement_id):
        by_role.setdefault(row.role_code, []).append(
            CohortInfo(
                id=row.id,
                role_code=row.role_code,
                coverage_start=row.coverage_start,
                coverage_end=row.coverage_end,
                voting_day=row.voting_day,
                min_age=row.min_age,
                max_age=row.max_age,
            )
        )
    return RosterContext(
        agreement_region=agreement.region_code,
        cohorts_by_role=by_role,
        role_levels=await repository.role_levels(session),
        regions=await _region_index(session, agreement.region_code),
        today=today(),
        as_of=as_of,
    )


_REGION_ROWS: list[tuple[str, str, str]] = []
_REGION_INDEXES: dict[str, Any] = {}


async def _region_index(session: AsyncSession, region_code: str) -> Any:
    """The region table is reference data fixed by a migration: read once per process."""
    if not _REGION_ROWS:
        _REGION_ROWS.extend(await repository.all_regions(session))
    index = _REGION_INDEXES.get(region_code)
    if index is None:
        if len(_REGION_INDEXES) >= 64:
            _REGION_INDEXES.clear()
        index = _REGION_INDEXES[region_code] = await to_thread.run_sync(
            build_region_index, _REGION_ROWS, region_code
        )
    return index


def _estimate(fmt: RosterFormat, counted: int, upload: Upload) -> int:
    """Rows to expect, for progress until the file is read: a text file's line count."""
    if fmt in (RosterFormat.CSV, RosterFormat.NDJSON):
        return max(counted, upload.newlines - 1)
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
) -> Submitted | None:
    if not await repository.try_lock(session, f"roster_key:{principal.organization_id}:{key}"):
        raise Conflict(
            "A roster with this Idempotency-Key is still being received",
            code="idempotency_in_flight",
        )
    existing = await repository.find_batch_by_key(session, principal.organization_id, key)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used with a different roster", code="idempotency_key_reused"
        )
    if existing.status == "failed" and existing.error == "interrupted":
        # Nothing of it was applied: the key may start a new batch.
        await repository.release_key(session, existing.id)
        return None
    return Submitted(existing, existing.response_status or 201, replayed=True)


def _options(params: RosterParams, body: dict[str, object]) -> tuple[str, bool, date]:
    """mode, atomic and as_of from the query, or from a JSON body's top-level keys."""
    errors: list[dict[str, Any]] = []
    unknown = sorted(set(body) - BODY_OPTIONS)
    for key in unknown:
        errors.append({"loc": ["body", key], "code": "extra_forbidden", "msg": "Unknown key"})
    mode: str | None = params.mode.value if params.mode else None
    atomic = params.atomic
    as_of = params.as_of
    if "mode" in body:
        value = body["mode"]
        if value not in ("upsert", "replace"):
            errors.append(_option_error("mode", "Must be upsert or replace"))
        elif mode is not None and value != mode:
            errors.append(_option_error("mode", "Differs from the mode query parameter"))
        else:
            mode = str(value)
    if "atomic" in body:
        value = body["atomic"]
        if not isinstance(value, bool):
            errors.append(_option_error("atomic", "Must be true or false"))
        elif atomic is not None and value != atomic:
            errors.append(_option_error("atomic", "Differs from the atomic query parameter"))
        else:
            atomic = value
    if "as_of" in body:
        value = body["as_of"]
        try:
            parsed = date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            errors.append(_option_error("as_of", "Must be a date, YYYY-MM-DD"))
        elif as_of is not None and parsed != as_of:
            errors.append(_option_error("as_of", "Differs from the as_of query parameter"))
        else:
            as_of = parsed
    if errors:
        raise Unprocessable(
            "The roster's options are not valid", code="invalid_roster_options", errors=errors
        )
    return mode or "upsert", bool(atomic), as_of or today()


def _option_error(key: str, msg: str) -> dict[str, Any]:
    return {"loc": ["body", key], "code": "invalid", "msg": msg}


async def _reload(session: AsyncSession, batch_id: uuid.UUID) -> RosterBatch:
    batch = await repository.get_batch(session, batch_id)
    assert batch is not None
    return batch


# ---------------------------------------------------------------------------------------------
# Answers


async def answer(session: AsyncSession, submitted: Submitted) -> Response:
    """201 with the finished batch, 202 with its Location, or 422 for a refused atomic one."""
    batch = submitted.batch
    headers = {"Location": f"/v1/roster-batches/{batch.id}"}
    if submitted.replayed:
        headers[REPLAYED_HEADER] = "true"
    if submitted.status_code == 422:
        rows = await repository.problem_rows(session, batch.id, after=0, limit=PROBLEMS_IN_REFUSAL)
        counts = counts_of(batch.counts)
        return problem_response(
            422,
            "roster_rejected",
            "The roster was refused",
            batch.error_detail or "Rows were rejected, so nothing was applied",
            errors=[
                {"loc": ["row", str(row.row_number)], "code": code, "msg": message}
                for row in rows
                if row.outcome == "rejected"
                for code, message in zip(row.codes, row.messages, strict=False)
            ],
            headers=headers,
            extra={
                "batch_id": str(batch.id),
                "counts": counts.model_dump(),
                "errors_url": f"/v1/roster-batches/{batch.id}/errors",
            },
        )
    return json_response(RosterBatchRead.model_validate(batch), submitted.status_code, headers)


# ---------------------------------------------------------------------------------------------
# Reading batches


async def get_batch(
    session: AsyncSession,
    principal: Principal,
    batch_id: uuid.UUID,
    *,
    scopes: tuple[str, ...] = READ_SCOPES,
) -> RosterBatch:
    """The batch when the caller is a party of its agreement (or an operator); else 404."""
    ensure_any(principal, *scopes)
    batch = await repository.get_batch(session, batch_id)
    if batch is not None:
        agreement = await repository.get_agreement(session, batch.agreement_id)
        if agreement is not None and access.can_see(principal, agreement):
            return batch
    raise NotFound("No such roster batch", code="roster_batch_not_found")


async def list_problems(
    session: AsyncSession,
    principal: Principal,
    batch_id: uuid.UUID,
    *,
    limit: int,
    cursor: str | None,
    access_log: AccessLogWriter | None,
) -> Page[RosterRowProblem]:
    await get_batch(session, principal, batch_id, scopes=ERRORS_SCOPES)
    after = decode_id_cursor(cursor) if cursor is not None else 0
    rows = await repository.problem_rows(session, batch_id, after=after, limit=limit + 1)
    items = [RosterRowProblem.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].row_number]) if len(rows) > limit else None
    await _log_niks_shown(session, principal, access_log, (item.nik for item in items))
    return Page(items=items, next_cursor=next_cursor)


async def problems_csv(
    session: AsyncSession,
    principal: Principal,
    batch_id: uuid.UUID,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    access_log: AccessLogWriter | None,
) -> tuple[RosterBatch, AsyncIterator[bytes]]:
    """The problem rows as CSV for Excel: the original columns plus baris, hasil, kode, alasan.

    The whole file's NIKs are logged before it streams: the stream runs after the request's
    transaction has committed, on sessions of its own.
    """
    batch = await get_batch(session, principal, batch_id, scopes=ERRORS_SCOPES)
    await _log_niks_shown(
        session, principal, access_log, await repository.problem_niks(session, batch_id)
    )
    return batch, errors_csv.stream(sessionmaker, batch)


async def _log_niks_shown(
    session: AsyncSession,
    principal: Principal,
    access_log: AccessLogWriter | None,
    written: Iterable[str | None],
) -> None:
    """An access-log row per NIK shown (UU 27/2022); text that is not 16 digits is skipped, as
    the log keeps NIKs as bigint."""
    niks = dict.fromkeys(nik for text in written if text and (nik := nik_to_int(text)) is not None)
    await record_session_reads(
        session,
        access_log,
        principal,
        endpoint=ENDPOINT_ERRORS,
        reads=[(nik, 0) for nik in niks],
    )
