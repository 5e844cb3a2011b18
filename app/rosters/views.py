"""Reading batches: a batch for its parties, its problem rows as pages or as a file for Excel."""

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agreements import access
from app.core.accesslog import AccessLogWriter, record_session_reads
from app.core.auth import Principal
from app.core.errors import NotFound
from app.core.pagination import Page, keyset_page
from app.models import RosterBatch, RosterBatchRow
from app.nik import nik_to_int
from app.rosters import errors_csv, errors_xlsx
from app.rosters.messages import warning_messages
from app.rosters.repository import batches, lookups
from app.rosters.schemas import RosterRowProblem, RowWarning

ENDPOINT_ERRORS = "GET /v1/roster-batches/{id}/errors"


class ErrorsFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


# What GET .../errors serves, by the media types of `Accept`.
ERRORS_MEDIA_TYPES = {
    "application/json": ErrorsFormat.JSON,
    "application/*": ErrorsFormat.JSON,
    "*/*": ErrorsFormat.JSON,
    "text/csv": ErrorsFormat.CSV,
    "text/*": ErrorsFormat.CSV,
    errors_xlsx.MEDIA_TYPE: ErrorsFormat.XLSX,
}


async def get_batch(
    session: AsyncSession,
    principal: Principal,
    batch_id: uuid.UUID,
) -> RosterBatch:
    """The batch when the caller is a party of its agreement (or an operator); else 404."""
    batch = await batches.get_batch(session, batch_id)
    if batch is not None:
        agreement = await lookups.get_agreement(session, batch.agreement_id)
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
    batch = await get_batch(session, principal, batch_id)
    rows, next_cursor = await keyset_page(
        session,
        batches.problem_rows_query(batch_id),
        keys=[RosterBatchRow.row_number],
        limit=limit,
        cursor=cursor,
    )
    columns = list(batch.columns or [])
    items = [_problem(row[0], columns) for row in rows]
    await _log_niks_shown(session, principal, access_log, (item.nik for item in items))
    return Page(items=items, next_cursor=next_cursor)


def _problem(row: RosterBatchRow, columns: list[str]) -> RosterRowProblem:
    warnings = zip(row.warnings, warning_messages(row.warnings, columns), strict=True)
    return RosterRowProblem(
        row_number=row.row_number,
        outcome=row.outcome,
        nik=row.nik,
        codes=row.codes,
        messages=row.messages,
        original=row.original,
        warnings=[RowWarning(code=code, msg=msg) for code, msg in warnings],
    )


async def problems_file(
    session: AsyncSession,
    principal: Principal,
    batch_id: uuid.UUID,
    *,
    export: ErrorsFormat,
    sessionmaker: async_sessionmaker[AsyncSession],
    access_log: AccessLogWriter | None,
) -> tuple[RosterBatch, Iterator[bytes] | AsyncIterator[bytes]]:
    """The problem rows as a CSV or XLSX file for Excel (errors_file.py).

    The whole file's NIKs are logged before it is sent: the file is written after the
    request's transaction has committed, on sessions of its own.
    """
    batch = await get_batch(session, principal, batch_id)
    await _log_niks_shown(
        session, principal, access_log, await batches.problem_niks(session, batch_id)
    )
    if export is ErrorsFormat.XLSX:
        return batch, errors_xlsx.chunks(await errors_xlsx.build(sessionmaker, batch))
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
