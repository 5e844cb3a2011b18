"""Cell values as rosters write them: dates, sex, NIKs that went through Excel, cell texts."""

from datetime import date, datetime, time, timedelta
from typing import Literal

import orjson

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_DATE_SEPARATORS = "-/."
_EXCEL_EPOCH = date(1899, 12, 30)

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


def is_number_text(nik: str) -> bool:
    """A NIK that went through a spreadsheet as a number: 1.6012E+15, 1,6012E+15, ...0.0."""
    if nik.isdigit() or not ("." in nik or "e" in nik or "E" in nik):
        return False
    try:
        float(nik.replace(",", "."))
    except ValueError:
        return False
    return True


def unwrap_text_formula(text: str) -> str:
    """'="019"' -> '019': an identifier as the errors CSV writes it for Excel (errors_csv.py),
    read back as its text when that file is sent again as it is."""
    if text.startswith('="') and text.endswith('"') and len(text) > 3 and '"' not in text[2:-1]:
        return text[2:-1]
    return text


def cell_text(value: object) -> str:
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


def json_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return cell_text(value)


def key_of(text: str) -> str:
    """A header or word as compared: its lower-case letters and digits only."""
    return "".join(c for c in text.lower() if c in _ALNUM)
