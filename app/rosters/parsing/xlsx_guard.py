"""Spreadsheet bombs, refused before a workbook is read: sizes, ratios and cell positions.

calamine (the XLSX reader) decompresses members whole and builds a sheet as one dense grid
over its used area, and a failed allocation aborts the process. So before it sees a file,
every member is inflated here, a chunk at a time and never past what its central directory
declares (a member that inflates to more, or compresses better than MAX_RATIO, is refused),
and each worksheet's row and cell references are scanned for the area the grid would span.
"""

import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from app.rosters.parsing.rows import RosterFileError, malformed

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
MAX_MEMBERS = 1_000
MAX_MEMBER_BYTES = 128 * 2**20
MAX_TOTAL_BYTES = 256 * 2**20
# As Apache POI's ZipSecureFile (minimum inflate ratio 0.01), checked once a member passes
# RATIO_GRACE_BYTES: small parts (styles, a sheet of blank cells) may compress better.
MAX_RATIO = 100
RATIO_GRACE_BYTES = 1 << 20
# Rows x columns of the grid calamine allocates (32 bytes a cell): 6M is 192 MB, and
# 200,000 rows of 30 columns.
MAX_SHEET_CELLS = 6_000_000
_CHUNK = 1 << 20
_RAW_CHUNK = 64 << 10
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_CARRY_LIMIT = 4096

_ROW_REF = re.compile(rb'<row\b[^>]*?\sr="(\d+)"')
_CELL_REF_FIRST = re.compile(rb'<c r="([A-Z]+)(\d+)"')
_ROW_WITHOUT_REF = re.compile(rb'<row(?=[\s/>])(?![^>]*\sr=")')
_CELL_WITHOUT_ATTRIBUTES = re.compile(rb"<c/?>")
_CELL_ATTRIBUTES = re.compile(rb"<c\s([^>]*)>")
_REF_ATTRIBUTE = re.compile(rb'\sr="([A-Z]+)(\d+)"')


def check_workbook(file: BinaryIO) -> None:
    """Raises roster_malformed unless `file` is an XLSX workbook that is safe to read."""
    file.seek(0)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise malformed("The file is not a readable XLSX workbook (not a zip archive).") from exc
    with archive:
        members = archive.infolist()
        _check_directory(members)
        for member in members:
            is_sheet = member.filename.startswith("xl/worksheets/")
            grid = _Grid() if is_sheet else None
            _inflate(file, member, grid)
            if grid is not None:
                grid.check(member.filename)
    file.seek(0)


def _check_directory(members: list[zipfile.ZipInfo]) -> None:
    names = [m.filename for m in members]
    if "xl/workbook.xml" not in names:
        raise malformed("The file is a zip archive but not an XLSX workbook (no xl/workbook.xml).")
    if len(members) > MAX_MEMBERS or len(set(names)) != len(names):
        raise malformed("The workbook's zip directory is not one that Excel writes.")
    total = 0
    for member in members:
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise malformed(f"{member.filename} is compressed in a way Excel does not use.")
        if member.flag_bits & 0x1:
            raise malformed("The workbook is encrypted; save it without a password.")
        _check_size(member, member.file_size, member.compress_size)
        total += member.file_size
    if total > MAX_TOTAL_BYTES:
        raise too_large(f"The workbook expands to more than {MAX_TOTAL_BYTES >> 20} MiB.")


def _check_size(member: zipfile.ZipInfo, inflated: int, compressed: int) -> None:
    if inflated > MAX_MEMBER_BYTES:
        raise too_large(f"{member.filename} expands to more than {MAX_MEMBER_BYTES >> 20} MiB.")
    if inflated > RATIO_GRACE_BYTES and inflated > MAX_RATIO * max(compressed, 1):
        raise too_large(
            f"{member.filename} expands more than {MAX_RATIO} times: not a spreadsheet Excel "
            "writes."
        )


def too_large(detail: str) -> RosterFileError:
    return malformed(f"{detail} Split the roster or send it as CSV.")


def _inflate(file: BinaryIO, member: zipfile.ZipInfo, grid: "_Grid | None") -> None:
    """Inflates a member a chunk at a time, to no more than it declares, feeding `grid`."""
    file.seek(member.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(file.read(30).ljust(30, b"\0"))
    if signature != b"PK\x03\x04":
        raise malformed(f"{member.filename} cannot be found in the zip archive.")
    file.seek(member.header_offset + 30 + name_length + extra_length)
    stored = member.compress_type == zipfile.ZIP_STORED
    inflater = None if stored else zlib.decompressobj(-15)
    left, produced, consumed = member.compress_size, 0, 0
    try:
        while left > 0 or (inflater is not None and inflater.unconsumed_tail):
            if inflater is not None and inflater.unconsumed_tail:
                data = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            else:
                raw = file.read(min(left, _RAW_CHUNK))
                if not raw:
                    raise malformed(f"{member.filename} is cut short.")
                left -= len(raw)
                consumed += len(raw)
                data = raw if inflater is None else inflater.decompress(raw, _CHUNK)
            produced += len(data)
            if produced > member.file_size:
                raise malformed(f"{member.filename} expands past the size it declares.")
            _check_size(member, produced, consumed)
            if grid is not None:
                grid.feed(data)
    except zlib.error as exc:
        raise malformed(f"{member.filename} is damaged.") from exc
    if produced != member.file_size or (inflater is not None and not inflater.eof):
        raise malformed(f"{member.filename} does not match the size it declares.")


@dataclass(slots=True)
class _Grid:
    """The area a sheet's cells span, from their references (or their count, where a cell
    or row has no reference and takes the next position)."""

    max_row: int = 0
    max_column: int = 0
    unnumbered_rows: int = 0
    unnumbered_cells: int = 0
    carry: bytes = b""

    def feed(self, data: bytes) -> None:
        # A tag never holds ">", so cutting after the last one leaves only whole tags; the
        # rest is read with the next chunk.
        text = self.carry + data
        cut = text.rfind(b">") + 1
        block, self.carry = text[:cut], text[cut:][-_CARRY_LIMIT:]
        rows = _ROW_REF.findall(block)
        if rows:
            self.max_row = max(self.max_row, *map(int, set(rows)))
        self.unnumbered_rows += len(_ROW_WITHOUT_REF.findall(block))
        refs = _CELL_REF_FIRST.findall(block)
        bare = len(_CELL_WITHOUT_ATTRIBUTES.findall(block))
        self.unnumbered_cells += bare
        if len(refs) != block.count(b"<c ") + block.count(b"<c\t") + block.count(b"<c\n"):
            refs = self._cells_in_any_order(block)
        if refs:
            letters, digits = zip(*refs, strict=True)
            self.max_column = max(self.max_column, *map(_column_number, set(letters)))
            self.max_row = max(self.max_row, *map(int, set(digits)))

    def _cells_in_any_order(self, block: bytes) -> list[tuple[bytes, bytes]]:
        refs: list[tuple[bytes, bytes]] = []
        for attributes in _CELL_ATTRIBUTES.findall(block):
            found = _REF_ATTRIBUTE.search(b" " + attributes)
            if found is None:
                self.unnumbered_cells += 1
            else:
                refs.append((found[1], found[2]))
        return refs

    def check(self, name: str) -> None:
        rows = self.max_row + self.unnumbered_rows
        columns = self.max_column + self.unnumbered_cells
        if rows > EXCEL_MAX_ROWS or columns > EXCEL_MAX_COLUMNS:
            raise malformed(
                f"{name} has a cell beyond Excel's last row ({EXCEL_MAX_ROWS:,}) or column "
                f"({EXCEL_MAX_COLUMNS:,})."
            )
        if rows * columns > MAX_SHEET_CELLS:
            raise too_large(
                f"{name} spans {rows:,} rows by {columns:,} columns, more than "
                f"{MAX_SHEET_CELLS:,} cells."
            )


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
