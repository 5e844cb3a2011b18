"""A batch's rejected and held rows as a CSV that opens in Excel, to fix and send again."""

import csv
import io
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import RosterBatch
from app.rosters.repository import batches

BOM = "\ufeff"
PAGE_ROWS = 5_000
EXTRA_COLUMNS = ("baris", "hasil", "kode", "alasan")
OUTCOME_WORDS = {"rejected": "ditolak", "held": "ditahan"}


def delimiter_of(batch: RosterBatch) -> str:
    """The upload's own delimiter; for a workbook ";" (what Excel in Indonesia expects)."""
    if batch.delimiter:
        return batch.delimiter
    return ";" if batch.format == "xlsx" else ","


async def stream(
    sessionmaker: async_sessionmaker[AsyncSession], batch: RosterBatch
) -> AsyncIterator[bytes]:
    delimiter = delimiter_of(batch)
    columns = list(batch.columns or [])
    width = len(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([*columns, *EXTRA_COLUMNS])
    yield (BOM + buffer.getvalue()).encode()
    after = 0
    while True:
        # Its own short session per page: the request's session is closed once streaming starts.
        async with sessionmaker() as session:
            rows = await batches.problem_rows(session, batch.id, after=after, limit=PAGE_ROWS)
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            cells = list(row.original[:width]) if width else list(row.original)
            cells += [""] * (width - len(cells))
            writer.writerow(
                [
                    *cells,
                    row.row_number,
                    OUTCOME_WORDS.get(row.outcome, row.outcome),
                    ", ".join(row.codes),
                    "; ".join(row.messages),
                ]
            )
        yield buffer.getvalue().encode()
        after = rows[-1].row_number
        if len(rows) < PAGE_ROWS:
            return
