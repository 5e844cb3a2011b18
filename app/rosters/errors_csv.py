"""A batch's problem rows as a CSV that Excel opens without damage.

What Excel honours when it opens a CSV: UTF-8 only with a byte-order mark; the delimiter of
its locale (";" in Indonesia, so the upload's own delimiter, ";" for a workbook); and for a
cell that must stay text, only a formula whose value is that text, `="1209186101929704"`
(an apostrophe or a leading tab shows in the cell). So a NIK, phone or TPS cell made of digits
(and + - . / spaces) is written as `="..."`: Excel shows the digits as text, keeps all 16 of a
NIK and the 0 of `019`, and saves them back as plain digits. Any other cell that starts with
= + - @ or a tab or carriage return is prefixed with an apostrophe, so that no cell of an
uploaded file becomes a formula in the office's Excel (CSV injection).
"""

import csv
import io
import re
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import RosterBatch
from app.rosters import errors_file

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What may be wrapped as ="...": no quote, nothing a formula could make more of.
_TEXT_SAFE = re.compile(r"[0-9][0-9 +\-./]{0,63}|\+[0-9][0-9 +\-./]{0,62}")


def delimiter_of(batch: RosterBatch) -> str:
    """The upload's own delimiter; for a workbook ";" (what Excel in Indonesia expects)."""
    if batch.delimiter:
        return batch.delimiter
    return ";" if batch.format == "xlsx" else ","


def excel_cell(value: str | int, keep_text: bool) -> str:
    """A cell as Excel should read it: digits kept as text where asked, never a formula."""
    if isinstance(value, int):
        return str(value)
    if keep_text and _TEXT_SAFE.fullmatch(value):
        return f'="{value}"'
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def stream(
    sessionmaker: async_sessionmaker[AsyncSession], batch: RosterBatch
) -> AsyncIterator[bytes]:
    text_columns = errors_file.text_columns(batch)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter_of(batch), lineterminator="\r\n")
    writer.writerow([excel_cell(name, False) for name in errors_file.header(batch)])
    yield (BOM + buffer.getvalue()).encode()
    async for page in errors_file.pages(sessionmaker, batch):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [excel_cell(cell, i in text_columns) for i, cell in enumerate(line)] for line in page
        )
        yield buffer.getvalue().encode()
