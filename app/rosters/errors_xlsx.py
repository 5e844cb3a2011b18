"""A batch's problem rows as an XLSX workbook (openpyxl, write-only).

Every cell of the file is a string cell: a NIK, phone or TPS column is also formatted as text
(number format `@`), so that what an office types there stays text; a cell starting with `=`
is a string, not a formula; characters that XML cannot hold (control characters) become
U+FFFD. The workbook is written to a spooled temporary file in a worker thread, a page of
rows at a time, then streamed.
"""

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, Any

from anyio import to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.models import RosterBatch
from app.rosters import errors_file

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_TITLE = "Baris bermasalah"
TEXT_FORMAT = "@"
TEXT_COLUMN_WIDTH = 20
IN_MEMORY_BYTES = 8 * 1024 * 1024
READ_BYTES = 64 * 1024


class _Sheet:
    """One write-only sheet, and the cells as they are written to it."""

    def __init__(self, batch: RosterBatch) -> None:
        self.workbook = Workbook(write_only=True)
        self.sheet: Any = self.workbook.create_sheet(SHEET_TITLE)
        self.text_columns = errors_file.text_columns(batch)
        for index in self.text_columns:
            self.sheet.column_dimensions[get_column_letter(index + 1)].width = TEXT_COLUMN_WIDTH
        self.append([self._cell(name, False) for name in errors_file.header(batch)])

    def append(self, cells: list[Any]) -> None:
        self.sheet.append(cells)

    def add_page(self, page: list[errors_file.Line]) -> None:
        for line in page:
            self.append([self._cell(cell, i in self.text_columns) for i, cell in enumerate(line)])

    def _cell(self, value: str | int, keep_text: bool) -> Any:
        if isinstance(value, int):
            return value
        cell = WriteOnlyCell(self.sheet, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
        cell.data_type = "s"  # openpyxl would read "=..." as a formula
        if keep_text:
            cell.number_format = TEXT_FORMAT
        return cell


async def build(sessionmaker: async_sessionmaker[AsyncSession], batch: RosterBatch) -> IO[bytes]:
    """The workbook, in a temporary file positioned at its start (the caller closes it)."""
    sheet = await to_thread.run_sync(_Sheet, batch)
    async for page in errors_file.pages(sessionmaker, batch):
        await to_thread.run_sync(sheet.add_page, page)
    with ExitStack() as owned:
        file = owned.enter_context(tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES))
        await to_thread.run_sync(sheet.workbook.save, file)
        file.seek(0)
        owned.pop_all()  # the caller's from here on
    return file


def chunks(file: IO[bytes]) -> Iterator[bytes]:
    """The file's bytes, then the file closed."""
    try:
        while chunk := file.read(READ_BYTES):
            yield chunk
    finally:
        file.close()
