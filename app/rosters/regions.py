"""The region table as a batch reads it: codes, districts, and names inside one agreement."""

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RegionIndex:
    """The region table as sets and maps: codes, districts, and names inside one agreement."""

    codes: frozenset[str]
    districts: frozenset[str]
    # Inside the agreement's region only: normalized name -> codes.
    district_by_name: dict[str, tuple[str, ...]]
    village_by_name: dict[str, tuple[str, ...]]


def normalize_name(text: str) -> str:
    """A region name as offices write it, folded: 'KEC. Kisaran Barat' -> 'kisaran barat'."""
    words = "".join(c if c.isalnum() else " " for c in text.casefold()).split()
    while words and words[0] in _NAME_PREFIXES:
        words = words[1:]
    return " ".join(words)


_NAME_PREFIXES = frozenset({"kec", "kecamatan", "desa", "kel", "kelurahan", "nagari", "gampong"})


def build_region_index(rows: Iterable[tuple[str, str, str]], agreement_region: str) -> RegionIndex:
    """From (code, name, level) rows of the whole table."""
    codes: set[str] = set()
    districts: set[str] = set()
    district_by_name: dict[str, list[str]] = {}
    village_by_name: dict[str, list[str]] = {}
    prefix = agreement_region + "."
    for code, name, level in rows:
        codes.add(code)
        if level == "district":
            districts.add(code)
        if not (code.startswith(prefix) or code == agreement_region):
            continue
        if level == "district":
            district_by_name.setdefault(normalize_name(name), []).append(code)
        elif level == "village":
            village_by_name.setdefault(normalize_name(name), []).append(code)
    return RegionIndex(
        frozenset(codes),
        frozenset(districts),
        {k: tuple(v) for k, v in district_by_name.items()},
        {k: tuple(v) for k, v in village_by_name.items()},
    )


def dotted_region(text: str) -> str:
    """'1209182002' -> '12.09.18.2002'; dotted codes and anything else pass through."""
    s = text.strip()
    if s.isdigit() and len(s) in (2, 4, 6, 10):
        parts = [s[:2], s[2:4], s[4:6], s[6:]]
        return ".".join(p for p in parts if p)
    return s
