"""RosterReader: a roster file of any format, read lazily into raw rows."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from itertools import islice
from typing import BinaryIO

from app.rosters.parsing import csv_rows, json_rows, xlsx_rows
from app.rosters.parsing.formats import RosterFormat
from app.rosters.parsing.jabatan import RoleVocabulary
from app.rosters.parsing.rows import RawRow, RosterFileError


class RosterReader:
    """Opened on a binary file object (a SpooledTemporaryFile or open file); reads lazily.

    Row numbers are what a person sees in Excel: the CSV record number counting the title
    block, header and blank lines (a quoted field with a line break stays one row), the XLSX
    sheet row, or the 1-based position of the officer in a JSON or NDJSON file. NDJSON
    columns grow as new keys appear, so a row's `original` follows the columns known so far.
    """

    def __init__(
        self,
        fileobj: BinaryIO,
        fmt: RosterFormat,
        roles: RoleVocabulary,
        *,
        sheet: str | None = None,
    ) -> None:
        self.columns: list[str] = []
        self.delimiter = ","
        self.options: dict[str, object] = {}
        self._file = fileobj
        self._format = fmt
        self._sheet = sheet
        self._roles = roles
        self._rows: Generator[RawRow, None, None] | None = None

    def open(self) -> None:
        """Reads what precedes the rows (header, sheet, JSON body); idempotent."""
        if self._rows is None:
            self._rows = _require_rows(self._open_rows())

    def close(self) -> None:
        """Releases the workbook or text wrapper early; the caller still owns the file."""
        if self._rows is not None:
            self._rows.close()

    def __enter__(self) -> RosterReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[RawRow]:
        self.open()
        assert self._rows is not None
        return self._rows

    def batches(self, size: int = 10_000) -> Iterator[list[RawRow]]:
        """The rows in lists of at most `size`."""
        if size < 1:
            raise ValueError("batch size must be at least 1")
        rows = iter(self)
        while batch := list(islice(rows, size)):
            yield batch

    def nik_cells(self) -> Iterator[tuple[str, bool]]:
        """Every row's NIK as the row gives it, and whether the row replaces someone (a PAW);
        for a CSV or XLSX without reading the other cells."""
        if self._format is RosterFormat.XLSX:
            return xlsx_rows.nik_cells(self._file, self._sheet)
        if self._format is not RosterFormat.CSV:
            return ((r.values.get("nik", ""), "replaces_nik" in r.values) for r in self)
        return csv_rows.nik_cells(self._open_csv())

    def _open_rows(self) -> Iterator[RawRow]:
        if self._format is RosterFormat.CSV:
            return csv_rows.csv_rows(self._open_csv(), self._roles)
        if self._format is RosterFormat.XLSX:
            self.columns, rows = xlsx_rows.open_xlsx(self._file, self._sheet, self._roles)
            return rows
        if self._format is RosterFormat.JSON:
            self.columns, self.options, rows = json_rows.open_json(self._file, self._roles)
            return rows
        return json_rows.ndjson_rows(self._file, self.columns, self._roles)

    def _open_csv(self) -> csv_rows.CsvHead:
        head = csv_rows.open_csv(self._file)
        self.delimiter, self.columns = head.delimiter, head.columns
        return head


def _require_rows(rows: Iterator[RawRow]) -> Generator[RawRow, None, None]:
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise RosterFileError("roster_empty", "The file holds no officers.")
