"""Streaming parser that turns an uploaded roster file (JSON, NDJSON, CSV, XLSX) into text rows."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from itertools import chain, islice
from typing import Any, BinaryIO, Literal
from xml.etree.ElementTree import ParseError

import orjson
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.rosters.columns import FIELDS, HEADERS

RosterFileErrorCode = Literal[
    "roster_header_not_found", "roster_sheet_not_found", "roster_malformed", "roster_empty"
]

HEADER_SCAN_ROWS = 20
_HEAD_LINE_LIMIT = 1 << 20
_BOM = b"\xef\xbb\xbf"
_JABATAN = "jabatan"
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_DATE_SEPARATORS = "-/."
_EXCEL_EPOCH = date(1899, 12, 30)
# What a damaged workbook raises from openpyxl, zipfile or the XML parser.
_XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ValueError, ParseError)


ROLE_CODES = frozenset(
    {
        "PPK",
        "SEKRETARIAT_PPK",
        "PPS",
        "SEKRETARIAT_PPS",
        "PANTARLIH",
        "KPPS",
        "KETERTIBAN_TPS",
        "PANWASCAM",
        "SEKRETARIAT_PANWASCAM",
        "KASEKCAM",
        "PKD",
        "PTPS",
        "TENAGA_PENDUKUNG",
    }
)

_POSITION_WORDS = {
    "ketua": "ketua",
    "anggota": "anggota",
    "sekretaris": "sekretaris",
    "staf": "staf",
    "staff": "staf",
}

# Long names of the bodies, folded into one token before the role lookup so that the
# table below need not list every combination with a position word.
_ROLE_PHRASES = (
    ("panitia pengawas pemilihan umum kecamatan", "panwascam"),
    ("panitia pengawas pemilihan kecamatan", "panwascam"),
    ("panitia pengawas pemilu kecamatan", "panwascam"),
    ("panwaslu kecamatan", "panwascam"),
    ("panwas kecamatan", "panwascam"),
    ("pengawas pemilu kelurahan desa", "pkd"),
    ("pengawas pemilu desa kelurahan", "pkd"),
    ("pengawas kelurahan desa", "pkd"),
    ("pengawas desa kelurahan", "pkd"),
    ("pengawas kelurahan", "pkd"),
    ("pengawas desa", "pkd"),
    ("pengawas tempat pemungutan suara", "ptps"),
    ("pengawas tps", "ptps"),
    ("kelompok penyelenggara pemungutan suara", "kpps"),
    ("panitia pemilihan kecamatan", "ppk"),
    ("panitia pemungutan suara", "pps"),
    ("pemutakhiran data pemilih", "pantarlih"),
    ("perlindungan masyarakat", "linmas"),
    ("ketertiban tps", "linmas"),
    ("ketertiban", "linmas"),
)

# canonical phrase -> (role code, position implied by the phrase)
_ROLE_TABLE: dict[str, tuple[str, str | None]] = {
    "ppk": ("PPK", None),
    "pps": ("PPS", None),
    "kpps": ("KPPS", None),
    "pantarlih": ("PANTARLIH", None),
    "linmas": ("KETERTIBAN_TPS", None),
    "panwascam": ("PANWASCAM", None),
    "pkd": ("PKD", None),
    "ptps": ("PTPS", None),
    "sekretariat ppk": ("SEKRETARIAT_PPK", "staf"),
    "sekretariat pps": ("SEKRETARIAT_PPS", "staf"),
    "sekretariat panwascam": ("SEKRETARIAT_PANWASCAM", "staf"),
    "pelaksana teknis panwascam": ("SEKRETARIAT_PANWASCAM", "staf"),
    "pelaksana teknis sekretariat panwascam": ("SEKRETARIAT_PANWASCAM", "staf"),
    "tenaga pendukung panwascam": ("SEKRETARIAT_PANWASCAM", "staf"),
    "kepala sekretariat panwascam": ("KASEKCAM", None),
    "kepala sekretariat": ("KASEKCAM", None),
    "kasek": ("KASEKCAM", None),
    "kasekcam": ("KASEKCAM", None),
    "kasek panwascam": ("KASEKCAM", None),
    "tenaga pendukung": ("TENAGA_PENDUKUNG", "staf"),
    "satpam": ("TENAGA_PENDUKUNG", "staf"),
    "security": ("TENAGA_PENDUKUNG", "staf"),
    "pramubakti": ("TENAGA_PENDUKUNG", "staf"),
    "office boy": ("TENAGA_PENDUKUNG", "staf"),
    "cleaning service": ("TENAGA_PENDUKUNG", "staf"),
    "pengemudi": ("TENAGA_PENDUKUNG", "staf"),
    "sopir": ("TENAGA_PENDUKUNG", "staf"),
}

# A "Sekretaris PPS" heads the PPS secretariat; he is not one of the three PPS members.
_SECRETARIAT_OF = {
    "PPK": "SEKRETARIAT_PPK",
    "PPS": "SEKRETARIAT_PPS",
    "PANWASCAM": "SEKRETARIAT_PANWASCAM",
}

_FILLER_WORDS = frozenset({"petugas", "kpu", "bawaslu"})

_SEX: dict[str, Literal["L", "P"]] = {
    "L": "L",
    "LK": "L",
    "LAKI": "L",
    "LAKI LAKI": "L",
    "LAKILAKI": "L",
    "PRIA": "L",
    "M": "L",
    "MALE": "L",
    "P": "P",
    "PR": "P",
    "PEREMPUAN": "P",
    "WANITA": "P",
    "W": "P",
    "F": "P",
    "FEMALE": "P",
}


class RosterFormat(StrEnum):
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    XLSX = "xlsx"


_CONTENT_TYPES = {
    "application/json": RosterFormat.JSON,
    "text/json": RosterFormat.JSON,
    "application/x-ndjson": RosterFormat.NDJSON,
    "application/ndjson": RosterFormat.NDJSON,
    "application/jsonl": RosterFormat.NDJSON,
    "application/x-jsonlines": RosterFormat.NDJSON,
    "application/jsonlines": RosterFormat.NDJSON,
    "text/csv": RosterFormat.CSV,
    "text/x-csv": RosterFormat.CSV,
    "application/csv": RosterFormat.CSV,
    "text/comma-separated-values": RosterFormat.CSV,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": RosterFormat.XLSX,
}


@dataclass(slots=True)
class RawRow:
    """One officer as read from the file, before any validation."""

    row_number: int
    values: dict[str, str]
    original: list[str]
    nik_is_number: bool


class RosterFileError(Exception):
    """The file as a whole cannot be read; `code` is stable, `detail` is for people."""

    def __init__(self, code: RosterFileErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code: RosterFileErrorCode = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class _Layout:
    """Which header column feeds which field, computed once per file."""

    pairs: tuple[tuple[int, str], ...]
    width: int
    nik_index: int
    role_aware: bool
    jabatan_only: bool


# ---------------------------------------------------------------------------------------------
# Format detection


def detect_format(content_type: str | None, first_bytes: bytes) -> RosterFormat | None:
    """The roster format from the Content-Type, else from the first bytes; None when unknown."""
    if content_type:
        media_type = content_type.split(";", 1)[0].strip().lower()
        known = _CONTENT_TYPES.get(media_type)
        if known is not None:
            return known
        if media_type.endswith("+json"):
            return RosterFormat.JSON
    return _sniff_format(first_bytes)


def _sniff_format(data: bytes) -> RosterFormat | None:
    if data.startswith(b"PK\x03\x04"):
        return RosterFormat.XLSX
    text = _decode_prefix(data).lstrip()
    if not text:
        return None
    if text[0] == "[":
        return RosterFormat.JSON
    if text[0] == "{":
        return RosterFormat.NDJSON if _starts_with_object_line(text) else RosterFormat.JSON
    if ";" in text or "," in text:
        return RosterFormat.CSV
    return None


def _decode_prefix(data: bytes) -> str:
    """The text of a possibly truncated UTF-8 prefix, or "" when it is not text."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return ""
    return "" if "\x00" in text else text


def _starts_with_object_line(text: str) -> bool:
    first, newline, rest = text.partition("\n")
    if not newline or not rest.lstrip().startswith("{"):
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


# ---------------------------------------------------------------------------------------------
# Cell values


def parse_date(text: str) -> date | None:
    """DD-MM-YYYY, DD/MM/YYYY, D-M-YYYY, YYYY-MM-DD or an Excel serial; None if not a real date."""
    s = text.strip()
    if len(s) > 10 and s[10] in "T ":
        s = s[:10]
    if len(s) == 10:
        separator = s[2]
        if separator in _DATE_SEPARATORS and s[5] == separator:
            return _make_date(s[6:], s[3:5], s[:2])
        if s[4] == "-" and s[7] == "-":
            return _make_date(s[:4], s[5:7], s[8:])
    if s[:1].isdigit() and s.replace(".", "", 1).isdigit():
        return _excel_serial_date(s)
    return _parse_loose_date(s)


def _make_date(year: str, month: str, day: str) -> date | None:
    digits = year + month + day
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _excel_serial_date(text: str) -> date | None:
    whole = text.split(".", 1)[0]
    if not whole.isascii() or len(whole) > 5:
        return None
    serial = int(whole)
    # Excel counts 1900-02-29 (serial 60), a day that never was; serials above it are one
    # day ahead of a count from 1899-12-31, hence the base 1899-12-30.
    if serial < 1 or serial == 60:
        return None
    offset = serial if serial > 60 else serial + 1
    return _EXCEL_EPOCH + timedelta(days=offset)


def _parse_loose_date(text: str) -> date | None:
    for separator in _DATE_SEPARATORS:
        parts = text.split(separator)
        if len(parts) != 3:
            continue
        first, middle, last = parts
        if len(first) == 4 and 1 <= len(middle) <= 2 and 1 <= len(last) <= 2:
            return _make_date(first, middle, last)
        if len(last) == 4 and 1 <= len(first) <= 2 and 1 <= len(middle) <= 2:
            return _make_date(last, middle, first)
        return None
    return None


def normalize_sex(text: str) -> Literal["L", "P"] | None:
    """L or P from the ways forms write it (L, P, Laki-laki, Perempuan, M, F, ...)."""
    key = " ".join(text.upper().replace("-", " ").split())
    return _SEX.get(key)


def parse_jabatan(text: str) -> tuple[str | None, str | None]:
    """(role code, position) from a JABATAN like "Ketua KPPS"; (None, None) when unknown."""
    return _parse_jabatan(text)


@lru_cache(maxsize=4096)
def _parse_jabatan(text: str) -> tuple[str | None, str | None]:
    code = text.strip().upper()
    if code in ROLE_CODES:
        return code, None
    words = [w for w in re.sub(r"[^a-z0-9]+", " ", text.lower()).split() if w not in _FILLER_WORDS]
    position = next((_POSITION_WORDS[w] for w in words if w in _POSITION_WORDS), None)
    phrase = " ".join(w for w in words if w not in _POSITION_WORDS)
    for long_name, token in _ROLE_PHRASES:
        phrase = _replace_words(phrase, long_name, token)
    found = _ROLE_TABLE.get(phrase)
    if found is None:
        return None, None
    role, implied = found
    if position == "sekretaris" and role in _SECRETARIAT_OF:
        role = _SECRETARIAT_OF[role]
    return role, position or implied


def _replace_words(phrase: str, old: str, new: str) -> str:
    padded = f" {phrase} ".replace(f" {old} ", f" {new} ")
    return padded.strip()


@lru_cache(maxsize=1024)
def _canonical_position(text: str) -> str:
    return _POSITION_WORDS.get(_header_key(text), text)


def _apply_role(values: dict[str, str], jabatan: str) -> None:
    """Splits a JABATAN (or a role written as one) into role and position."""
    role_text = values.get("role")
    if role_text is not None:
        role, position = _parse_jabatan(role_text)
        if role is not None:
            values["role"] = role
        if position is None and jabatan:
            position = _parse_jabatan(jabatan)[1] or _POSITION_WORDS.get(_header_key(jabatan))
    elif jabatan:
        role, position = _parse_jabatan(jabatan)
        # Unparseable text goes through unchanged so that the validator names it.
        values["role"] = role if role is not None else jabatan
    else:
        position = None
    given = values.get("position")
    if given is not None:
        values["position"] = _canonical_position(given)
    elif position is not None:
        values["position"] = position


@lru_cache(maxsize=4096)
def _role_patch(role: str | None, jabatan: str, position: str | None) -> dict[str, str]:
    """The role and position to store for one combination of those three cells."""
    values = {k: v for k, v in (("role", role), ("position", position)) if v is not None}
    _apply_role(values, jabatan)
    return values


@lru_cache(maxsize=4096)
def _jabatan_patch(jabatan: str) -> dict[str, str]:
    """_role_patch for the usual sheet, with a JABATAN column and no role or position."""
    return _role_patch(None, jabatan, None)


def _is_number_text(nik: str) -> bool:
    """A NIK that went through a spreadsheet as a number: 1.6012E+15, 1,6012E+15, ...0.0."""
    if nik.isdigit() or not ("." in nik or "e" in nik or "E" in nik):
        return False
    try:
        float(nik.replace(",", "."))
    except ValueError:
        return False
    return True


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _json_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return _cell_text(value)


# ---------------------------------------------------------------------------------------------
# Headers


def _header_key(text: str) -> str:
    return "".join(c for c in text.lower() if c in _ALNUM)


def _build_header_fields() -> dict[str, str]:
    fields = {_header_key(field): field for field in FIELDS}
    for field, names in HEADERS.items():
        fields.update((_header_key(name), field) for name in names)
    fields[_JABATAN] = _JABATAN
    return fields


_HEADER_FIELDS = _build_header_fields()


@lru_cache(maxsize=1024)
def _field_for_key(key: str) -> str | None:
    return _HEADER_FIELDS.get(_header_key(key))


def _map_header(cells: Iterable[str]) -> _Layout | None:
    """The layout when the cells name at least a NIK and a name column, else None."""
    by_field: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = _field_for_key(cell)
        if field is not None and field not in by_field:
            by_field[field] = index
    if "nik" not in by_field or "full_name" not in by_field:
        return None
    return _Layout(
        pairs=tuple((index, field) for field, index in by_field.items()),
        width=max(by_field.values()) + 1,
        nik_index=by_field["nik"],
        role_aware=not by_field.keys().isdisjoint({"role", "position", _JABATAN}),
        jabatan_only=_JABATAN in by_field and by_field.keys().isdisjoint({"role", "position"}),
    )


def _values_of(cells: Sequence[str], layout: _Layout) -> dict[str, str]:
    """The non-blank mapped cells by field, JABATAN split into role and position."""
    values = {field: v for i, field in layout.pairs if (v := cells[i].strip())}
    if layout.jabatan_only:
        values.update(_jabatan_patch(values.pop(_JABATAN, "")))
    elif layout.role_aware:
        jabatan = values.pop(_JABATAN, "")
        values.update(_role_patch(values.get("role"), jabatan, values.get("position")))
    return values


def _is_blank_line(line: str) -> bool:
    return not line.strip().strip(';,"').strip()


def _sniff_delimiter(line: str) -> str:
    """The likelier of ";" and ",": the one found more often outside quotes."""
    outside = line.split('"')[::2]
    semicolons = sum(part.count(";") for part in outside)
    commas = sum(part.count(",") for part in outside)
    return "," if commas > semicolons else ";"


# ---------------------------------------------------------------------------------------------
# The reader


class RosterReader:
    """Opened on a binary file object (a SpooledTemporaryFile or open file); reads lazily.

    Row numbers are what a person sees in Excel: the CSV record number counting the title
    block, header and blank lines (a quoted field with a line break stays one row), the XLSX
    sheet row, or the 1-based position of the officer in a JSON or NDJSON file. NDJSON
    columns grow as new keys appear, so a row's `original` follows the columns known so far.
    """

    def __init__(self, fileobj: BinaryIO, fmt: RosterFormat, *, sheet: str | None = None) -> None:
        self.columns: list[str] = []
        self.delimiter = ","
        self.options: dict[str, object] = {}
        self._file = fileobj
        self._format = fmt
        self._sheet = sheet
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

    def _open_rows(self) -> Iterator[RawRow]:
        if self._format is RosterFormat.CSV:
            return self._open_csv()
        if self._format is RosterFormat.XLSX:
            return self._open_xlsx()
        if self._format is RosterFormat.JSON:
            return self._open_json()
        return self._ndjson_rows()

    # CSV ---------------------------------------------------------------------------------

    def nik_cells(self) -> Iterator[tuple[str, bool]]:
        """Every row's NIK as the row gives it, and whether the row replaces someone (a PAW);
        for a CSV without reading the other cells."""
        if self._format is not RosterFormat.CSV:
            return ((r.values.get("nik", ""), "replaces_nik" in r.values) for r in self)
        lines, layout, _ = self._csv_lines()
        replaces = next((i for i, name in layout.pairs if name == "replaces_nik"), None)
        return _csv_nik_cells(lines, self.delimiter, layout.nik_index, replaces)

    def _open_csv(self) -> Iterator[RawRow]:
        lines, layout, rows_before = self._csv_lines()
        reader = csv.reader(lines, delimiter=self.delimiter)
        return _csv_rows(reader, layout, rows_before + 1)

    def _csv_lines(self) -> tuple[Iterator[str], _Layout, int]:
        """The lines after the header, the header's layout and the rows above it."""
        text = io.TextIOWrapper(_Borrowed(self._file), encoding="utf-8-sig", newline="")
        head = _read_head(text)
        line_index, delimiter, layout = _find_csv_header(head)
        self.delimiter = delimiter
        self.columns = next(csv.reader([head[line_index]], delimiter=delimiter))
        rows_before = sum(1 for _ in csv.reader(head[:line_index], delimiter=delimiter))
        return chain(head[line_index + 1 :], text), layout, rows_before

    # XLSX --------------------------------------------------------------------------------

    def _open_xlsx(self) -> Iterator[RawRow]:
        try:
            workbook = load_workbook(self._file, read_only=True, data_only=True)
        except (*_XLSX_ERRORS, InvalidFileException, OSError) as exc:
            raise _malformed("The file is not a readable XLSX workbook.") from exc
        try:
            sheet = _select_sheet(workbook, self._sheet)
            # Some writers store a wrong <dimension>; without it openpyxl reads every row.
            sheet.reset_dimensions()
            rows = enumerate(sheet.iter_rows(values_only=True), start=1)
            texts, layout = _find_xlsx_header(rows)
        except BaseException:
            workbook.close()
            raise
        self.columns = texts
        return _xlsx_rows(rows, layout, workbook)

    # JSON and NDJSON ---------------------------------------------------------------------

    def _open_json(self) -> Iterator[RawRow]:
        try:
            document = orjson.loads(self._file.read().removeprefix(_BOM))
        except orjson.JSONDecodeError as exc:
            raise _malformed(f"The body is not valid JSON: {exc}.") from exc
        officers, self.options = _split_body(document)
        seen: dict[str, None] = {}
        for officer in officers:
            seen.update(dict.fromkeys(officer))
        self.columns = list(seen)
        return self._json_rows(officers)

    def _json_rows(self, officers: list[dict[str, object]]) -> Iterator[RawRow]:
        for index, officer in enumerate(officers, start=1):
            yield _json_row(index, officer, self.columns)

    def _ndjson_rows(self) -> Iterator[RawRow]:
        seen: set[str] = set()
        index = 0
        for line_number, line in enumerate(self._file, start=1):
            if not line.strip():
                continue
            officer = _ndjson_object(line.removeprefix(_BOM), line_number)
            index += 1
            for key in officer:
                if key not in seen:
                    seen.add(key)
                    self.columns.append(key)
            yield _json_row(index, officer, self.columns)


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


def _require_rows(rows: Iterator[RawRow]) -> Generator[RawRow, None, None]:
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise RosterFileError("roster_empty", "The file holds no officers.")


def _malformed(detail: str) -> RosterFileError:
    return RosterFileError("roster_malformed", detail)


def _not_utf8(where: int) -> RosterFileError:
    return _malformed(f"The file is not UTF-8 text (near row {where}); save it as CSV UTF-8.")


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
                raise _malformed("A line near the top of the file is longer than 1 MiB.")
            lines.append(line)
            non_blank += not _is_blank_line(line)
    except UnicodeDecodeError as exc:
        raise _not_utf8(len(lines) + 1) from exc
    if non_blank == 0:
        raise RosterFileError("roster_empty", "The file is empty.")
    return lines


def _find_csv_header(head: list[str]) -> tuple[int, str, _Layout]:
    for index, line in enumerate(head):
        if _is_blank_line(line):
            continue
        likely = _sniff_delimiter(line)
        for delimiter in (likely, "," if likely == ";" else ";"):
            layout = _map_header(next(csv.reader([line], delimiter=delimiter), []))
            if layout is not None:
                return index, delimiter, layout
    raise _header_not_found()


def _header_not_found() -> RosterFileError:
    return RosterFileError(
        "roster_header_not_found",
        f"No header row with a NIK column and a name column (NIK, NAMA) was found in the first "
        f"{HEADER_SCAN_ROWS} non-blank rows.",
    )


def _csv_rows(reader: Iterator[list[str]], layout: _Layout, row_number: int) -> Iterator[RawRow]:
    # The hot loop of a million-row upload: _values_of inlined, attributes read once.
    pairs, width = layout.pairs, layout.width
    role_aware, jabatan_only = layout.role_aware, layout.jabatan_only
    role_patch, jabatan_patch = _role_patch, _jabatan_patch
    try:
        for cells in reader:
            row_number += 1
            if not any(cells):
                continue
            full = cells if len(cells) >= width else cells + [""] * (width - len(cells))
            values = {field: v for i, field in pairs if (v := full[i].strip())}
            if jabatan_only:
                values.update(jabatan_patch(values.pop(_JABATAN, "")))
            elif role_aware:
                jabatan = values.pop(_JABATAN, "")
                values.update(role_patch(values.get("role"), jabatan, values.get("position")))
            if not values and not any(c.strip() for c in cells):
                continue
            nik = values.get("nik", "")
            number = not nik.isdigit() and _is_number_text(nik)
            yield RawRow(row_number, values, cells, number)
    except UnicodeDecodeError as exc:
        raise _not_utf8(row_number + 1) from exc
    except csv.Error as exc:
        raise _malformed(f"Row {row_number + 1} cannot be read as CSV: {exc}.") from exc


def _csv_nik_cells(
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
        raise _malformed("The file cannot be read as UTF-8 CSV.") from exc


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
) -> tuple[list[str], _Layout]:
    non_blank = 0
    try:
        for _, cells in rows:
            if _is_blank_cells(cells):
                continue
            non_blank += 1
            texts = [_cell_text(c) for c in cells]
            layout = _map_header(texts)
            if layout is not None:
                return texts, layout
            if non_blank == HEADER_SCAN_ROWS:
                break
    except _XLSX_ERRORS as exc:
        raise _malformed("The sheet cannot be read.") from exc
    if non_blank == 0:
        raise RosterFileError("roster_empty", "The sheet is empty.")
    raise _header_not_found()


def _xlsx_rows(
    rows: Iterator[tuple[int, tuple[object, ...]]], layout: _Layout, workbook: Any
) -> Iterator[RawRow]:
    try:
        for row_number, cells in rows:
            if _is_blank_cells(cells):
                continue
            texts = [_cell_text(c) for c in cells]
            if len(texts) < layout.width:
                texts += [""] * (layout.width - len(texts))
            values = _values_of(texts, layout)
            nik_cell = cells[layout.nik_index] if layout.nik_index < len(cells) else None
            is_number = isinstance(nik_cell, int | float) and not isinstance(nik_cell, bool)
            nik = values.get("nik")
            yield RawRow(
                row_number, values, texts, is_number or (nik is not None and _is_number_text(nik))
            )
    except _XLSX_ERRORS as exc:
        raise _malformed("The sheet cannot be read.") from exc
    finally:
        workbook.close()


def _split_body(document: object) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The officers and the other top-level keys of a JSON body."""
    if isinstance(document, list):
        officers, options = document, {}
    elif isinstance(document, dict) and isinstance(document.get("officers"), list):
        officers = document["officers"]
        options = {k: v for k, v in document.items() if k != "officers"}
    else:
        raise _malformed('Expected a list of officers or an object with an "officers" list.')
    for index, officer in enumerate(officers, start=1):
        if not isinstance(officer, dict):
            raise _malformed(f"Officer {index} is not a JSON object.")
    return officers, options


def _ndjson_object(line: bytes, line_number: int) -> dict[str, object]:
    try:
        officer = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _malformed(f"Line {line_number} is not valid JSON: {exc}.") from exc
    if not isinstance(officer, dict):
        raise _malformed(f"Line {line_number} is not a JSON object.")
    return officer


def _json_row(index: int, officer: dict[str, object], columns: list[str]) -> RawRow:
    values: dict[str, str] = {}
    jabatan = ""
    nik_is_number = False
    for key, raw in officer.items():
        field = _field_for_key(key)
        if field is None or field in values:
            continue
        text = _json_text(raw)
        if field == "nik":
            nik_is_number = isinstance(raw, float) or _is_number_text(text)
            if isinstance(raw, float):
                text = repr(raw)
        if not text:
            continue
        if field == _JABATAN:
            jabatan = jabatan or text
        else:
            values[field] = text
    values.update(_role_patch(values.get("role"), jabatan, values.get("position")))
    original = [_json_text(officer.get(column)) for column in columns]
    return RawRow(index, values, original, nik_is_number)
