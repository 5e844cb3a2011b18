"""Spreadsheet bombs, refused before a workbook is read: sizes, ratios and cell positions.

calamine (the XLSX reader) decompresses members whole and builds a sheet as one dense grid
over its used area, and a failed allocation aborts the process. So before it sees a file,
every member is inflated here, a chunk at a time and never past what its central directory
declares (a member that inflates to more, or compresses better than MAX_RATIO, is refused),
and the row and cell references of each part (a sheet may be any of them) are scanned for the
area the grid would span.
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

# The forms Excel writes, read fast; any other form of a row or cell tag (attributes in another
# order, other quotes) is read by the slower patterns below, for that chunk.
_ROW_FAST = re.compile(rb'<row r="(\d+)"')
_ROW_OTHER = re.compile(rb'<row(?=[\s/>])(?! r="\d+")')
_CELL_LETTERS = re.compile(rb'<c r="([A-Z]+)')
_CELL_DIGITS = re.compile(rb'<c r="[A-Z]+(\d+)"')
_CELL_OTHER = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]+\d+")')
_ROW_TAG = re.compile(rb"<row(?=[\s/>])([^>]*)>")
_CELL_TAG = re.compile(rb"<c(?=[\s/>])([^>]*)>")
_R_ATTRIBUTE = re.compile(rb"""(?:^|\s)r\s*=\s*(["'])(.*?)\1""")
_ROW_NUMBER = re.compile(rb"()([0-9]{1,7})")
_CELL_REFERENCE = re.compile(rb"([A-Z]{1,3})([0-9]{1,7})")
# Elements with a namespace prefix (<x:row>, <x:c>, as some writers make them): calamine reads
# them by their local names, so they are scanned without it.
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_PREFIX = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")


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
            # Every part: the workbook's relationships may place a sheet anywhere.
            grid = _Grid()
            _inflate(file, member, grid)
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


def _inflate(file: BinaryIO, member: zipfile.ZipInfo, grid: "_Grid") -> None:
    """Inflates a member a chunk at a time, to no more than it declares, feeding `grid`."""
    file.seek(member.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(file.read(30).ljust(30, b"\0"))
    if signature != b"PK\x03\x04":
        raise malformed(f"{member.filename} cannot be found in the zip archive.")
    file.seek(member.header_offset + 30 + name_length + extra_length)
    stored = member.compress_type == zipfile.ZIP_STORED
    inflater = None if stored else zlib.decompressobj(-15)
    left, produced, consumed = member.compress_size, 0, 0
    pending = False  # the last call filled its output: zlib may hold more
    try:
        while True:
            if inflater is not None and (pending or inflater.unconsumed_tail):
                data = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
            elif left > 0:
                raw = file.read(min(left, _RAW_CHUNK))
                if not raw:
                    raise malformed(f"{member.filename} is cut short.")
                left -= len(raw)
                consumed += len(raw)
                data = raw if inflater is None else inflater.decompress(raw, _CHUNK)
            else:
                break
            pending = inflater is not None and len(data) == _CHUNK
            produced += len(data)
            if produced > member.file_size:
                raise malformed(f"{member.filename} expands past the size it declares.")
            _check_size(member, produced, consumed)
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
        if _PREFIXED.search(block):
            block = _PREFIX.sub(rb"<\1", block)
        if _ROW_OTHER.search(block):
            rows = [digits for _, digits in self._references(block, _ROW_TAG, _ROW_NUMBER)]
            self.unnumbered_rows += len(_ROW_TAG.findall(block)) - len(rows)
        else:
            rows = _ROW_FAST.findall(block)
        if rows:
            self.max_row = max(self.max_row, *map(int, set(rows)))
        if _CELL_OTHER.search(block):
            cells = self._references(block, _CELL_TAG, _CELL_REFERENCE)
            self.unnumbered_cells += len(_CELL_TAG.findall(block)) - len(cells)
            columns = {letters for letters, _ in cells}
            cell_rows = [digits for _, digits in cells]
        else:
            # Two passes, cheaper than one of pairs: one-letter columns are shared objects.
            columns = set(_CELL_LETTERS.findall(block))
            cell_rows = _CELL_DIGITS.findall(block)
        if columns:
            self.max_column = max(self.max_column, *map(_column_number, columns))
        if cell_rows:
            self.max_row = max(self.max_row, *map(int, set(cell_rows)))

    @staticmethod
    def _references(
        block: bytes, tags: re.Pattern[bytes], form: re.Pattern[bytes]
    ) -> list[tuple[bytes, bytes]]:
        """The r attributes of the tags, as (letters, digits); one that is not in `form`
        (lower case, entities, past 7 digits) is refused, as calamine could misread it."""
        found: list[tuple[bytes, bytes]] = []
        for attributes in tags.findall(block):
            attribute = _R_ATTRIBUTE.search(attributes)
            if attribute is None:
                continue
            reference = form.fullmatch(attribute[2])
            if reference is None:
                raise malformed("A row or cell reference of the sheet is not one Excel writes.")
            found.append((reference[1], reference[2]))
        return found

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
