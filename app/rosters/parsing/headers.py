"""A file's header row: which column feeds which field (columns.py names the headers)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.rosters.columns import FIELDS, HEADERS
from app.rosters.parsing.cells import key_of
from app.rosters.parsing.jabatan import JABATAN, RoleVocabulary
from app.rosters.parsing.rows import RosterFileError

HEADER_SCAN_ROWS = 20
# Blank rows read while looking for the header: a sheet or file of nothing but blank rows
# would otherwise be read to its end first.
BLANK_ROWS_BEFORE_HEADER = 10_000


@dataclass(frozen=True, slots=True)
class Layout:
    """Which header column feeds which field, computed once per file."""

    pairs: tuple[tuple[int, str], ...]
    width: int
    nik_index: int
    role_aware: bool
    jabatan_only: bool


def _build_header_fields() -> dict[str, str]:
    fields = {key_of(field): field for field in FIELDS}
    for field, names in HEADERS.items():
        fields.update((key_of(name), field) for name in names)
    fields[JABATAN] = JABATAN
    return fields


_HEADER_FIELDS = _build_header_fields()


@lru_cache(maxsize=1024)
def field_for_key(key: str) -> str | None:
    """The field a header (or a JSON key) names; None when it names none."""
    return _HEADER_FIELDS.get(key_of(key))


def map_header(cells: Iterable[str]) -> Layout | None:
    """The layout when the cells name at least a NIK and a name column, else None."""
    by_field: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = field_for_key(cell)
        if field is not None and field not in by_field:
            by_field[field] = index
    if "nik" not in by_field or "full_name" not in by_field:
        return None
    return Layout(
        pairs=tuple((index, field) for field, index in by_field.items()),
        width=max(by_field.values()) + 1,
        nik_index=by_field["nik"],
        role_aware=not by_field.keys().isdisjoint({"role", "position", JABATAN}),
        jabatan_only=JABATAN in by_field and by_field.keys().isdisjoint({"role", "position"}),
    )


def values_of(cells: Sequence[str], layout: Layout, roles: RoleVocabulary) -> dict[str, str]:
    """The non-blank mapped cells by field, JABATAN split into role and position."""
    values = {field: v for i, field in layout.pairs if (v := cells[i].strip())}
    if layout.jabatan_only:
        values.update(roles.jabatan_patch(values.pop(JABATAN, "")))
    elif layout.role_aware:
        jabatan = values.pop(JABATAN, "")
        values.update(roles.role_patch(values.get("role"), jabatan, values.get("position")))
    return values


def header_not_found() -> RosterFileError:
    return RosterFileError(
        "roster_header_not_found",
        f"No header row with a NIK column and a name column (NIK, NAMA) was found in the first "
        f"{HEADER_SCAN_ROWS} non-blank rows.",
    )


def too_many_blank_rows() -> RosterFileError:
    return RosterFileError(
        "roster_malformed",
        f"More than {BLANK_ROWS_BEFORE_HEADER:,} blank rows come before the header row.",
    )
