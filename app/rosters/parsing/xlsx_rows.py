"""XLSX rosters: the sheet by name, the header found below a title block, and the rows."""

import zipfile
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.nik import nik_of_number
from app.rosters.parsing.cells import cell_text, is_number_text
from app.rosters.parsing.headers import (
    HEADER_SCAN_ROWS,
    Layout,
    header_not_found,
    map_header,
    values_of,
)
from app.rosters.parsing.jabatan import RoleVocabulary
from app.rosters.parsing.rows import RawRow, RosterFileError, malformed

# What a damaged workbook raises from openpyxl, zipfile or the XML parser.
_XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, ParseError)


def open_xlsx(
    file: BinaryIO, sheet_name: str | None, roles: RoleVocabulary
) -> tuple[list[str], Iterator[RawRow]]:
    """The header's cells and the rows below it; the workbook closes when the rows end."""
    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (*_XLSX_ERRORS, InvalidFileException, OSError) as exc:
        raise malformed("The file is not a readable XLSX workbook.") from exc
    try:
        sheet = _select_sheet(workbook, sheet_name)
        # Some writers store a wrong <dimension>; without it openpyxl reads every row.
        sheet.reset_dimensions()
        rows = enumerate(sheet.iter_rows(values_only=True), start=1)
        texts, layout = _find_xlsx_header(rows)
    except BaseException:
        workbook.close()
        raise
    return texts, _xlsx_rows(rows, layout, workbook, roles)


def _select_sheet(workbook: Any, name: str | None) -> Any:
    sheets = workbook.worksheets
    if name is None:
        found = sheets[:1]
    else:
        exact = [s for s in sheets if s.title == name]
        found = exact or [s for s in sheets if s.title.casefold() == name.casefold()]
    if found:
        return found[0]
    titles = ", ".join(s.title for s in sheets) or "none"
    raise RosterFileError(
        "roster_sheet_not_found", f"The workbook has no sheet named {name!r} (it has: {titles})."
    )


def _is_blank_cells(cells: tuple[object, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _find_xlsx_header(
    rows: Iterator[tuple[int, tuple[object, ...]]],
) -> tuple[list[str], Layout]:
    non_blank = 0
    try:
        for _, cells in rows:
            if _is_blank_cells(cells):
                continue
            non_blank += 1
            texts = [cell_text(c) for c in cells]
            layout = map_header(texts)
            if layout is not None:
                return texts, layout
            if non_blank == HEADER_SCAN_ROWS:
                break
    except _XLSX_ERRORS as exc:
        raise malformed("The sheet cannot be read.") from exc
    if non_blank == 0:
        raise RosterFileError("roster_empty", "The sheet is empty.")
    raise header_not_found()


def _xlsx_rows(
    rows: Iterator[tuple[int, tuple[object, ...]]],
    layout: Layout,
    workbook: Any,
    roles: RoleVocabulary,
) -> Iterator[RawRow]:
    try:
        for row_number, cells in rows:
            if _is_blank_cells(cells):
                continue
            texts = [cell_text(c) for c in cells]
            if len(texts) < layout.width:
                texts += [""] * (layout.width - len(texts))
            values = values_of(texts, layout, roles)
            nik_cell = cells[layout.nik_index] if layout.nik_index < len(cells) else None
            is_number = (
                isinstance(nik_cell, int | float)
                and not isinstance(nik_cell, bool)
                and nik_of_number(nik_cell) is None  # exact 16 digits are taken (app/nik.py)
            )
            nik = values.get("nik")
            yield RawRow(
                row_number, values, texts, is_number or (nik is not None and is_number_text(nik))
            )
    except _XLSX_ERRORS as exc:
        raise malformed("The sheet cannot be read.") from exc
    finally:
        workbook.close()
