"""Validate and parse the NIK, the 16-digit Indonesian national identity number."""

from __future__ import annotations

import bisect
import datetime
import functools
import gc
import numbers
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Literal

Sex = Literal["L", "P"]
_Births = list[datetime.date | None]
_Region = tuple[str, str, str]

# Kepmendagri 2025. 93-96 are the Papua provinces created in 2022; there is no 97.
PROVINCE_CODES: frozenset[str] = frozenset(
    f"{code:02d}"
    for code in (
        *range(11, 20),
        21,
        *range(31, 37),
        *range(51, 54),
        *range(61, 66),
        *range(71, 77),
        81,
        82,
        *range(91, 97),
    )
)

NIK_STORED_AS_NUMBER = "nik_stored_as_number"
NIK_FORMAT = "nik_format"
NIK_PROVINCE = "nik_province"
NIK_REGION_ZERO = "nik_region_zero"
NIK_BIRTH_DATE = "nik_birth_date"
NIK_SERIAL_ZERO = "nik_serial_zero"
NIK_REGION_UNKNOWN = "nik_region_unknown"
NIK_BIRTH_DATE_MISMATCH = "nik_birth_date_mismatch"
NIK_SEX_MISMATCH = "nik_sex_mismatch"

_NIK_MIN = 10**15
_NIK_LIMIT = 10**16
_REGION_DIVISOR = 10**10
_DDMMYY_LIMIT = 10**6
_SERIAL_LIMIT = 10**4
# Bounds the region memo; the 2025 table has 7,285 districts, old NIKs add a few more.
_REGIONS_KEPT = 20_000
_REGIONS: dict[int, _Region | None] = {}
# What spreadsheets and float formatting make of a NIK kept as a number: "1.20919E+15",
# "1,20919E+15", "1209186702038780.0". Narrow on purpose: a typo in a NIK is a format error.
_NUMBER_TEXT = re.compile(r"[+-]?\d(?:[.,]\d+)?[eE][+-]?\d{1,2}|[+-]?\d{15,}[.,]\d+")
_SEX_WORDS: dict[str, Sex] = {
    **dict.fromkeys(("l", "lk", "laki-laki", "laki laki", "laki", "pria", "m", "male"), "L"),
    **dict.fromkeys(("p", "pr", "perempuan", "wanita", "w", "f", "female"), "P"),
}


@dataclass(frozen=True, slots=True)
class ParsedNik:
    """A NIK that passed every check, split into its parts."""

    value: int
    province: str
    regency: str
    district: str
    birth_date: datetime.date
    sex: Sex
    serial: str

    def __str__(self) -> str:
        return format_nik(self.value)


@dataclass(frozen=True, slots=True)
class NikCheck:
    """The outcome of checking one raw NIK: the parsed NIK or the error codes, and warnings."""

    nik: ParsedNik | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def format_nik(value: int) -> str:
    """The NIK as its 16-character string."""
    if not 0 <= value < _NIK_LIMIT:
        raise ValueError(f"not a 16-digit NIK: {value}")
    return f"{value:016d}"


def mask_nik(value: int | str) -> str:
    """The NIK with the birth date and serial hidden, for logs and listings."""
    text = format_nik(value) if isinstance(value, int) else value.strip()
    if len(text) != 16:
        # Showing 8 characters of something that is not a NIK could show most of it.
        return "*" * len(text)
    return f"{text[:6]}********{text[14:]}"


def nik_to_int(text: str) -> int | None:
    """The NIK as an int for a bigint column, or None when the text is not 16 digits."""
    text = text.strip()
    if len(text) == 16 and text.isdigit() and text.isascii():
        return int(text)
    return None


# Below 2**53 every integer is exact as a float; above it a float may have lost the last digit.
_EXACT_FLOAT_LIMIT = 2**53


def nik_of_number(value: float) -> str | None:
    """The 16 digits of a NIK that a spreadsheet kept as a number, when all of them are surely
    there: an integer (a float only below 2**53) of 16 digits whose last digit is not 0. Excel
    keeps 15 significant digits, so a 16-digit number typed into it ends in 0: such a value,
    and any other, is None (the NIK was stored as a number and lost digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not (value.is_integer() and 0 < value < _EXACT_FLOAT_LIMIT):
            return None
        value = int(value)
    if not (_NIK_MIN <= value < _NIK_LIMIT) or value % 10 == 0:
        return None
    return str(value)


INVALID_NIK_MESSAGE = "A NIK is 16 digits, sent as a string"
NUMBER_NIK_MESSAGE = "A NIK sent as a number may have lost digits: send it as a 16-digit string"


def nik_of_input(raw: object) -> int | None:
    """The NIK a JSON value asks about, or None when it is not a string of 16 digits (format
    only: a NIK with an odd province or birth date is still looked up, under it is nothing)."""
    return nik_to_int(raw) if isinstance(raw, str) else None


def nik_input_error(raw: object) -> dict[str, str]:
    """The `{code, msg}` of a JSON value that `nik_of_input` refused."""
    is_number = isinstance(raw, int | float) and not isinstance(raw, bool)
    return {"code": "invalid_nik", "msg": NUMBER_NIK_MESSAGE if is_number else INVALID_NIK_MESSAGE}


def check_nik(
    raw: object,
    *,
    today: datetime.date,
    known_districts: Container[str] | None = None,
    stated_birth_date: datetime.date | None = None,
    stated_sex: str | None = None,
) -> NikCheck:
    """Check one NIK as received (string, or int from JSON) against the rules of DESIGN.md."""
    births = _births(today)
    if type(raw) is str and len(raw) == 16 and raw.isdigit() and raw.isascii():
        text = raw
    else:
        text_or_failure = _text_of(raw)
        if isinstance(text_or_failure, NikCheck):
            return text_or_failure
        text = text_or_failure
    nik = _parse(text, births)
    if nik is None:
        return _checked(None, _errors(text, births), ())
    if known_districts is None and stated_birth_date is None and stated_sex is None:
        return _checked(nik, (), ())
    return _checked(nik, (), _warnings(nik, known_districts, stated_birth_date, stated_sex))


def check_niks(
    raws: Iterable[object],
    *,
    today: datetime.date,
    known_districts: Container[str] | None = None,
) -> list[NikCheck]:
    """check_nik over a whole roster column, with the per-call set-up done once."""
    births = _births(today)
    results: list[NikCheck] = []
    append = results.append
    # The results hold no cycles, but a million new containers make the collector walk the
    # growing heap again and again: a batch of a million took 1.6x as long with it on.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for raw in raws:
            if type(raw) is str and len(raw) == 16 and raw.isdigit() and raw.isascii():
                nik = _parse(raw, births)
                if nik is not None and (known_districts is None or nik.district in known_districts):
                    append(_checked(nik, (), ()))
                    continue
            append(check_nik(raw, today=today, known_districts=known_districts))
    finally:
        if collecting:
            gc.enable()
    return results


def _text_of(raw: object) -> str | NikCheck:
    """The 16 digits of a raw value off the fast path, or the failed check."""
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) == 16 and text.isdigit() and text.isascii():
            return text
        if _NUMBER_TEXT.fullmatch(text):
            return _failed(NIK_STORED_AS_NUMBER)
        return _failed(NIK_FORMAT)
    if isinstance(raw, bool):
        return _failed(NIK_FORMAT)
    if isinstance(raw, numbers.Integral):
        value = int(raw)
        return str(value) if _NIK_MIN <= value < _NIK_LIMIT else _failed(NIK_STORED_AS_NUMBER)
    if isinstance(raw, numbers.Number):
        # Even an integral float is refused: above 2**53 it may already have lost the last digit.
        return _failed(NIK_STORED_AS_NUMBER)
    return _failed(NIK_FORMAT)


def _failed(code: str) -> NikCheck:
    return NikCheck(None, (code,), ())


class _OpenNik:
    """ParsedNik's layout without its frozen __setattr__, to build one fast (see _parse)."""

    __slots__ = ParsedNik.__slots__
    value: int
    province: str
    regency: str
    district: str
    birth_date: datetime.date
    sex: Sex
    serial: str


class _OpenCheck:
    """NikCheck's layout without its frozen __setattr__."""

    __slots__ = NikCheck.__slots__
    nik: ParsedNik | None
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


_new_object = object.__new__


def _parse(text: str, births: _Births) -> ParsedNik | None:
    """The parts of a 16-digit NIK, or None when any of them is invalid."""
    value = int(text)
    prefix = value // _REGION_DIVISOR
    region = _REGIONS.get(prefix) or _learn_region(prefix)
    born = births[value // _SERIAL_LIMIT % _DDMMYY_LIMIT]
    if region is None or born is None or value % _SERIAL_LIMIT == 0:
        return None
    # A frozen dataclass's __init__ sets each field through object.__setattr__, which takes
    # longer than the whole check. Plain slot stores on a twin with the same layout, then a
    # class change, build the same ParsedNik 4x faster.
    nik = _new_object(_OpenNik)
    nik.value = value
    nik.province, nik.regency, nik.district = region
    nik.birth_date = born
    # Women's days run 41-71, men's 01-31; the table above has already refused the rest.
    nik.sex = "P" if text[6] >= "4" else "L"
    nik.serial = text[12:]
    nik.__class__ = ParsedNik  # type: ignore[assignment]
    return nik  # type: ignore[return-value]


def _checked(nik: ParsedNik | None, errors: tuple[str, ...], warnings: tuple[str, ...]) -> NikCheck:
    """NikCheck(nik, errors, warnings), built the fast way of _parse."""
    check = _new_object(_OpenCheck)
    check.nik = nik
    check.errors = errors
    check.warnings = warnings
    check.__class__ = NikCheck  # type: ignore[assignment]
    return check  # type: ignore[return-value]


def _errors(text: str, births: _Births) -> tuple[str, ...]:
    """Every error of a 16-digit NIK, in the documented order."""
    checks = (
        (NIK_PROVINCE, text[:2] not in PROVINCE_CODES),
        (NIK_REGION_ZERO, text[2:4] == "00" or text[4:6] == "00"),
        (NIK_BIRTH_DATE, births[int(text[6:12])] is None),
        (NIK_SERIAL_ZERO, text[12:] == "0000"),
    )
    return tuple(code for code, failed in checks if failed)


def _warnings(
    nik: ParsedNik,
    known_districts: Container[str] | None,
    stated_birth_date: datetime.date | None,
    stated_sex: str | None,
) -> tuple[str, ...]:
    sex = _SEX_WORDS.get(stated_sex.strip().casefold()) if stated_sex is not None else None
    if isinstance(stated_birth_date, datetime.datetime):
        # openpyxl reads dates as datetimes, and a datetime never equals a date.
        stated_birth_date = stated_birth_date.date()
    checks = (
        (NIK_REGION_UNKNOWN, known_districts is not None and nik.district not in known_districts),
        (NIK_BIRTH_DATE_MISMATCH, stated_birth_date not in (None, nik.birth_date)),
        (NIK_SEX_MISMATCH, sex is not None and sex != nik.sex),
    )
    return tuple(code for code, failed in checks if failed)


def _learn_region(prefix: int) -> _Region | None:
    """Province, dotted regency and dotted district of a 6-digit prefix, None when invalid."""
    text = f"{prefix:06d}"
    province, regency, district = text[:2], text[2:4], text[4:]
    if province not in PROVINCE_CODES or regency == "00" or district == "00":
        return None
    if len(_REGIONS) >= _REGIONS_KEPT:
        _REGIONS.clear()
    dotted = f"{province}.{regency}"
    # Kept so that the million NIKs of an upload share three strings per district.
    region = _REGIONS[prefix] = (province, dotted, f"{dotted}.{district}")
    return region


@functools.lru_cache(maxsize=2)
def _births(today: datetime.date) -> _Births:
    """The birth date of every valid DDMMYY (day + 40 for women), indexed by its int.

    A flat list rather than a dict: birth dates come in random order, so each lookup misses
    the CPU cache, and a list index is one memory read where a dict lookup is several.
    """
    births: _Births = [None] * _DDMMYY_LIMIT
    for key, day in _century(1900)[1]:
        births[key] = day
    dates, entries = _century(2000)
    # Both sexes per day, so the entries dated on or before today are the first 2 * n.
    for key, day in entries[: 2 * bisect.bisect_right(dates, today)]:
        births[key] = day
    return births


@functools.cache
def _century(start: int) -> tuple[list[datetime.date], list[tuple[int, datetime.date]]]:
    """The days of one century in order, and their DDMMYY as ints for a man and for a woman."""
    first = datetime.date(start, 1, 1)
    dates = [first + datetime.timedelta(days=n) for n in range(_days(start))]
    entries: list[tuple[int, datetime.date]] = []
    for day in dates:
        rest = day.month * 100 + day.year % 100
        entries.append((day.day * 10_000 + rest, day))
        entries.append(((day.day + 40) * 10_000 + rest, day))
    return dates, entries


def _days(start: int) -> int:
    return (datetime.date(start + 99, 12, 31) - datetime.date(start, 1, 1)).days + 1
