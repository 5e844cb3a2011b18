"""A batch's problem rows as a file for Excel, to fix and send again: its columns, its rows,
and which columns must stay text (NIK, phone, TPS: Excel would turn them into numbers, losing
the last digit of a NIK and the leading zero of a phone or a TPS).

The rows are read a page at a time, each on a short session of its own: the file is written
after the request's transaction has committed. CSV (errors_csv.py) and XLSX (errors_xlsx.py)
write the same rows.
"""

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import RosterBatch, RosterBatchRow
from app.rosters.messages import warning_messages
from app.rosters.parsing.headers import field_for_key
from app.rosters.repository import batches

PAGE_ROWS = 5_000
EXTRA_COLUMNS = ("baris", "hasil", "kode", "alasan", "peringatan")
OUTCOME_WORDS = {
    "rejected": "ditolak",
    "held": "ditahan",
    "created": "diterima",
    "updated": "diperbarui",
    "unchanged": "tidak berubah",
    "replaced": "menggantikan",
}
# The fields whose digits are an identifier, not a quantity.
TEXT_FIELDS = frozenset({"nik", "phone", "tps", "replaces_nik"})

Line = list[str | int]


def columns_of(batch: RosterBatch) -> list[str]:
    return list(batch.columns or [])


def header(batch: RosterBatch) -> list[str]:
    return [*columns_of(batch), *EXTRA_COLUMNS]


def text_columns(batch: RosterBatch) -> frozenset[int]:
    """The indexes of the file's columns that must stay text."""
    return frozenset(
        index
        for index, column in enumerate(columns_of(batch))
        if field_for_key(column) in TEXT_FIELDS
    )


async def pages(
    sessionmaker: async_sessionmaker[AsyncSession], batch: RosterBatch
) -> AsyncIterator[list[Line]]:
    """The problem rows in row order, a page at a time, each as its cells and the extras."""
    columns = columns_of(batch)
    after = 0
    while True:
        async with sessionmaker() as session:
            rows = await batches.problem_rows(session, batch.id, after=after, limit=PAGE_ROWS)
        if not rows:
            return
        yield [_line(row, columns) for row in rows]
        after = rows[-1].row_number
        if len(rows) < PAGE_ROWS:
            return


def _line(row: RosterBatchRow, columns: list[str]) -> Line:
    width = len(columns)
    cells: Line = list(row.original[:width]) if width else list(row.original)
    cells += [""] * (width - len(cells))
    return [
        *cells,
        row.row_number,
        OUTCOME_WORDS.get(row.outcome, row.outcome),
        ", ".join(row.codes + row.warnings),
        "; ".join(row.messages),
        "; ".join(warning_messages(row.warnings, columns)),
    ]
