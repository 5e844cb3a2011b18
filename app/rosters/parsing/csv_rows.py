"""CSV rosters: the header found below a title block, the rows, and the NIK column alone."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

from app.rosters.parsing.cells import is_number_text
from app.rosters.parsing.headers import (
    BLANK_ROWS_BEFORE_HEADER,
    HEADER_SCAN_ROWS,
    Layout,
    header_not_found,
    map_header,
    too_many_blank_rows,
)
from app.rosters.parsing.jabatan import JABATAN, RoleVocabulary
from app.rosters.parsing.rows import RawRow, RosterFileError, malformed, not_utf8

_HEAD_LINE_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class CsvHead:
    """What precedes the rows: the header's cells and layout, and the lines after it."""

    lines: Iterator[str]
    layout: Layout
    delimiter: str
    columns: list[str]
    rows_before: int


def open_csv(file: BinaryIO) -> CsvHead:
    """Reads up to the header; the lines after it are read as the caller goes."""
    text = io.TextIOWrapper(_Borrowed(file), encoding="utf-8-sig", newline="")
    head = _read_head(text)
    line_index, delimiter, layout = _find_csv_header(head)
    columns = next(csv.reader([head[line_index]], delimiter=delimiter))
    rows_before = sum(1 for _ in csv.reader(head[:line_index], delimiter=delimiter))
    return CsvHead(chain(head[line_index + 1 :], text), layout, delimiter, columns, rows_before)


def csv_rows(head: CsvHead, roles: RoleVocabulary) -> Iterator[RawRow]:
    # strict: a quote left open runs to the end of the file, which is an error, not one cell.
    rows = csv.reader(head.lines, delimiter=head.delimiter, strict=True)
    return _csv_rows(rows, head.layout, head.rows_before + 1, roles)


class _Borrowed(io.BufferedIOBase):
    """The caller's file as a TextIOWrapper buffer that the wrapper cannot close.

    A TextIOWrapper closes its buffer when it is closed or collected; the uploaded file
    belongs to the caller, who may still need it (to store it, or to read it again).
    """

    def __init__(self, raw: BinaryIO) -> None:
        super().__init__()
        self._raw = raw

    @property
    def name(self) -> object:
        return getattr(self._raw, "name", None)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        return self._raw.read(-1 if size is None else size)

    def read1(self, size: int = -1, /) -> bytes:
        return self._raw.read(size)

    def close(self) -> None:
        pass


def _read_head(text: io.TextIOWrapper) -> list[str]:
    """The physical lines up to the HEADER_SCAN_ROWS-th non-blank one."""
    lines: list[str] = []
    non_blank = 0
    try:
        while non_blank < HEADER_SCAN_ROWS:
            line = text.readline(_HEAD_LINE_LIMIT)
            if not line:
                break
            if len(line) == _HEAD_LINE_LIMIT and not line.endswith("\n"):
                raise malformed("A line near the top of the file is longer than 1 MiB.")
            lines.append(line)
            non_blank += not _is_blank_line(line)
            if len(lines) - non_blank > BLANK_ROWS_BEFORE_HEADER:
                raise too_many_blank_rows()
    except UnicodeDecodeError as exc:
        raise not_utf8(len(lines) + 1) from exc
    if non_blank == 0:
        raise RosterFileError("roster_empty", "The file is empty.")
    return lines


def _find_csv_header(head: list[str]) -> tuple[int, str, Layout]:
    for index, line in enumerate(head):
        if _is_blank_line(line):
            continue
        likely = _sniff_delimiter(line)
        for delimiter in (likely, "," if likely == ";" else ";"):
            layout = map_header(next(csv.reader([line], delimiter=delimiter), []))
            if layout is not None:
                return index, delimiter, layout
    raise header_not_found()


def _csv_rows(
    reader: Iterator[list[str]], layout: Layout, row_number: int, roles: RoleVocabulary
) -> Iterator[RawRow]:
    # The hot loop of a million-row upload: headers.values_of inlined, attributes read once.
    pairs, width = layout.pairs, layout.width
    role_aware, jabatan_only = layout.role_aware, layout.jabatan_only
    patch_role, patch_jabatan = roles.role_patch, roles.jabatan_patch
    try:
        for cells in reader:
            row_number += 1
            if not any(cells):
                continue
            full = cells if len(cells) >= width else cells + [""] * (width - len(cells))
            values = {field: v for i, field in pairs if (v := full[i].strip())}
            if jabatan_only:
                values.update(patch_jabatan(values.pop(JABATAN, "")))
            elif role_aware:
                jabatan = values.pop(JABATAN, "")
                values.update(patch_role(values.get("role"), jabatan, values.get("position")))
            if not values and not any(c.strip() for c in cells):
                continue
            nik = values.get("nik", "")
            number = not nik.isdigit() and is_number_text(nik)
            yield RawRow(row_number, values, cells, number)
    except UnicodeDecodeError as exc:
        raise not_utf8(row_number + 1) from exc
    except csv.Error as exc:
        raise malformed(f"Row {row_number + 1} cannot be read as CSV: {exc}.") from exc


def nik_cells(head: CsvHead) -> Iterator[tuple[str, bool]]:
    """Every row's NIK cell, and whether its replaces_nik cell is filled, the rest unread."""
    replaces = next((i for i, name in head.layout.pairs if name == "replaces_nik"), None)
    return _nik_cells(head.lines, head.delimiter, head.layout.nik_index, replaces)


def _nik_cells(
    lines: Iterator[str], delimiter: str, nik: int, replaces: int | None
) -> Iterator[tuple[str, bool]]:
    """Splits lines by hand (1M rows: 0.9-1.0 s of CPU against 1.5-1.6 s with the csv module,
    decoding included) until a line has a quote: from there on, as a quoted field may hold the
    delimiter or a line break, the csv module reads."""
    try:
        for line in lines:
            if '"' in line:
                yield from _csv_module_nik_cells(chain([line], lines), delimiter, nik, replaces)
                return
            yield _nik_cells_of(line.rstrip("\r\n").split(delimiter), nik, replaces)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise malformed("The file cannot be read as UTF-8 CSV.") from exc


def _csv_module_nik_cells(
    lines: Iterator[str], delimiter: str, nik: int, replaces: int | None
) -> Iterator[tuple[str, bool]]:
    for cells in csv.reader(lines, delimiter=delimiter):
        yield _nik_cells_of(cells, nik, replaces)


def _nik_cells_of(cells: list[str], nik: int, replaces: int | None) -> tuple[str, bool]:
    width = len(cells)
    return (
        cells[nik].strip() if width > nik else "",
        replaces is not None and width > replaces and bool(cells[replaces].strip()),
    )


def _is_blank_line(line: str) -> bool:
    return not line.strip().strip(';,"').strip()


def _sniff_delimiter(line: str) -> str:
    """The likelier of ";" and ",": the one found more often outside quotes."""
    outside = line.split('"')[::2]
    semicolons = sum(part.count(";") for part in outside)
    commas = sum(part.count(",") for part in outside)
    return "," if commas > semicolons else ";"
