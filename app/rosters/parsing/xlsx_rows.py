"""XLSX rosters: the sheet by name, the header found below a title block, and the rows.

A workbook is read once, with calamine (Rust: 100,000 rows in about 1 s where openpyxl's
read-only mode took 14 s), after xlsx_guard has refused what would not fit in memory. The
sheet it gives is kept for as long as the uploaded file lives, so that the passes a roster
takes (counting, the NIK survey, staging) iterate it in memory instead of reading it again.
"""

import os
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, SheetTypeEnum

from app.nik import nik_of_number
from app.rosters.parsing.cells import cell_text, is_number_text
from app.rosters.parsing.headers import (
    BLANK_ROWS_BEFORE_HEADER,
    HEADER_SCAN_ROWS,
    Layout,
    header_not_found,
    map_header,
    too_many_blank_rows,
    values_of,
)
from app.rosters.parsing.jabatan import RoleVocabulary
from app.rosters.parsing.rows import RawRow, RosterFileError, malformed
from app.rosters.parsing.xlsx_guard import check_workbook

Cells = Sequence[object]

_loaded: "weakref.WeakKeyDictionary[BinaryIO, dict[str | None, CalamineSheet]]" = (
    weakref.WeakKeyDictionary()
)
_loading = threading.Lock()


def open_xlsx(
    file: BinaryIO, sheet_name: str | None, roles: RoleVocabulary
) -> tuple[list[str], Iterator[RawRow]]:
    """The header's cells and the rows below it."""
    rows = enumerate(_sheet_rows(_sheet(file, sheet_name)), start=1)
    texts, layout = _find_xlsx_header(rows)
    return texts, _xlsx_rows(rows, layout, roles)


def nik_cells(file: BinaryIO, sheet_name: str | None) -> Iterator[tuple[str, bool]]:
    """Every row's NIK cell, and whether its replaces_nik cell is filled, the rest unread."""
    rows = enumerate(_sheet_rows(_sheet(file, sheet_name)), start=1)
    _, layout = _find_xlsx_header(rows)
    nik = layout.nik_index
    replaces = next((i for i, name in layout.pairs if name == "replaces_nik"), None)
    for _, cells in rows:
        if _is_blank_cells(cells):
            continue
        width = len(cells)
        yield (
            cell_text(cells[nik]) if nik < width else "",
            replaces is not None and replaces < width and bool(cell_text(cells[replaces])),
        )


def _sheet_rows(sheet: CalamineSheet) -> Iterator[Cells]:
    """Every row from the sheet's first; calamine leaves out the blank columns before the
    first filled one, which the header's column positions count."""
    start = sheet.start
    pad: Cells = [""] * start[1] if start is not None else []
    for row in sheet.iter_rows():
        yield [*pad, *row] if pad else row


def _sheet(file: BinaryIO, name: str | None) -> CalamineSheet:
    """The sheet, read from the file the first time it is asked for, kept with the file."""
    with _loading:
        sheets = _loaded.get(file)
    if sheets is None:
        check_workbook(file)
        sheets = {}
    sheet = sheets.get(name)
    if sheet is None:
        sheet = sheets[name] = _read_sheet(file, name)
    with _loading:
        _loaded[file] = sheets
    return sheet


def _read_sheet(file: BinaryIO, name: str | None) -> CalamineSheet:
    file.seek(0)
    try:
        workbook = CalamineWorkbook.from_object(_source(file))
    except (CalamineError, OSError, ValueError) as exc:
        raise malformed("The file is not a readable XLSX workbook.") from exc
    try:
        return workbook.get_sheet_by_name(_select_sheet(workbook, name))
    except (CalamineError, ValueError) as exc:
        raise malformed("The sheet cannot be read.") from exc
    finally:
        workbook.close()
        file.seek(0)


def _source(file: BinaryIO) -> str | BinaryIO:
    """A path to the file where it has one (calamine then reads it from disk), else the file
    (which calamine copies into memory: the spooled upload keeps only small files there)."""
    name = getattr(file, "name", None)
    if isinstance(name, int):  # an unnamed temporary file, as a spool rolls over to
        name = f"/proc/self/fd/{name}"
    if isinstance(name, str) and os.path.isfile(name):
        return name
    return file


def _select_sheet(workbook: CalamineWorkbook, name: str | None) -> str:
    sheets = [s.name for s in workbook.sheets_metadata if s.typ == SheetTypeEnum.WorkSheet]
    if name is None:
        found = sheets[:1]
    else:
        exact = [s for s in sheets if s == name]
        found = exact or [s for s in sheets if s.casefold() == name.casefold()]
    if found:
        return found[0]
    titles = ", ".join(sheets) or "none"
    raise RosterFileError(
        "roster_sheet_not_found", f"The workbook has no sheet named {name!r} (it has: {titles})."
    )


def _is_blank_cells(cells: Cells) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _texts(cells: Cells) -> list[str]:
    """The cells as text, without the blank ones after the last filled (calamine gives every
    row the sheet's width)."""
    texts = [cell_text(c) for c in cells]
    while texts and not texts[-1]:
        texts.pop()
    return texts


def _find_xlsx_header(rows: Iterator[tuple[int, Cells]]) -> tuple[list[str], Layout]:
    non_blank = blank = 0
    for _, cells in rows:
        if _is_blank_cells(cells):
            blank += 1
            if blank > BLANK_ROWS_BEFORE_HEADER:
                raise too_many_blank_rows()
            continue
        non_blank += 1
        texts = _texts(cells)
        layout = map_header(texts)
        if layout is not None:
            return texts, layout
        if non_blank == HEADER_SCAN_ROWS:
            break
    if non_blank == 0:
        raise RosterFileError("roster_empty", "The sheet is empty.")
    raise header_not_found()


def _xlsx_rows(
    rows: Iterator[tuple[int, Cells]], layout: Layout, roles: RoleVocabulary
) -> Iterator[RawRow]:
    for row_number, cells in rows:
        if _is_blank_cells(cells):
            continue
        texts = _texts(cells)
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
