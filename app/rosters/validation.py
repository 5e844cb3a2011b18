"""Row validation of a roster: raw text rows in, typed staging tuples with rejection codes out.

Pure and synchronous (it runs in a worker thread, a chunk of rows at a time). Everything it
needs from the database comes in a RosterContext loaded once per batch; the checks that need
other rows or other registrations (duplicates in the file, updates, overlaps, replacements)
are set-based SQL in the repository.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.nik import (
    NIK_BIRTH_DATE_MISMATCH,
    NIK_FORMAT,
    NIK_SEX_MISMATCH,
    NIK_STORED_AS_NUMBER,
    check_nik,
    check_niks,
    nik_to_int,
)
from app.rosters.columns import STAGE_COLUMNS
from app.rosters.messages import NUL_CHARACTER, Describer, clean
from app.rosters.parsing import RawRow, RoleVocabulary
from app.rosters.parsing.cells import normalize_sex, parse_date
from app.rosters.regions import RegionIndex, dotted_region, normalize_name

POSITIONS = frozenset({"ketua", "anggota", "sekretaris", "staf"})
# Separates the original cells in one staging column (a text[] costs 15x more to COPY).
CELL_SEPARATOR = "\x1f"
_DATE_CACHE_LIMIT = 200_000
_REGION_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class CohortInfo:
    id: uuid.UUID
    role_code: str
    coverage_start: date
    coverage_end: date
    voting_day: date
    min_age: int
    max_age: int | None


@dataclass(slots=True)
class RosterContext:
    """What validation needs to know about the agreement, loaded once per batch."""

    agreement_region: str
    cohorts_by_role: dict[str, list[CohortInfo]]
    role_levels: dict[str, str]
    regions: RegionIndex
    today: date
    as_of: date
    roles: RoleVocabulary  # read by the parser, before validation


@dataclass(slots=True)
class ChunkResult:
    """A chunk ready for COPY, and what the batch keeps count of."""

    records: list[tuple[Any, ...]]
    rejected: int = 0
    touched_cohorts: set[uuid.UUID] = field(default_factory=set)


class RowValidator:
    """Validates chunks of one roster; keeps small caches across chunks."""

    def __init__(self, context: RosterContext, columns: Callable[[], Sequence[str]] = list) -> None:
        """`columns`: the file's columns once it is open, to name them in the messages."""
        self.context = context
        self._describer = Describer(context, columns)
        self._dates: dict[str, date | None] = {}
        self._sexes: dict[str, str | None] = {}
        self._tps: dict[str, str] = {}
        self._regions: dict[tuple[str, str, str], tuple[str | None, str | None]] = {}
        self._region_codes: dict[str, tuple[str | None, str | None]] = {}
        self._agreement_prefix = context.agreement_region + "."

    def validate(self, rows: Sequence[RawRow]) -> ChunkResult:
        """The staging tuple of every row, in order (see columns.STAGE_COLUMNS)."""
        # The hot loop of a million-row upload: lookups cached, attributes read once.
        context = self.context
        today = context.today
        texts = [row.values.get("nik", "") for row in rows]
        checks = check_niks(texts, today=today, known_districts=context.regions.districts)
        result = ChunkResult([])
        append = result.records.append
        touched = result.touched_cohorts
        cohorts_by_role = context.cohorts_by_role
        role_levels = context.role_levels
        dates, sexes, tps_cache = self._dates, self._sexes, self._tps
        region_of = self._region
        region_codes = self._region_codes
        missing = _MISSING
        last_cohort = None
        for row, nik_text, check in zip(rows, texts, checks, strict=True):
            values = row.values
            get = values.get
            codes: list[str] = []
            parsed = None
            if not nik_text:
                codes.append(NIK_FORMAT)
            elif row.nik_is_number:
                codes.append(NIK_STORED_AS_NUMBER)
            elif check.errors:
                codes.extend(check.errors)
            else:
                parsed = check.nik
            warnings = list(check.warnings) if parsed is not None and check.warnings else None

            full_name = get("full_name")
            if not full_name:
                codes.append("name_missing")

            birth_text = get("birth_date")
            birth_date = None
            if not birth_text:
                codes.append("birth_date_missing")
            else:
                birth_date = dates.get(birth_text, missing)
                if birth_date is missing:
                    birth_date = self._date(birth_text)
                if birth_date is None or birth_date > today:
                    birth_date = None
                    codes.append("birth_date_invalid")

            sex_text = get("sex")
            sex: str | None = None
            if sex_text:
                sex = sexes.get(sex_text, missing)
                if sex is missing:
                    sex = sexes[sex_text] = normalize_sex(sex_text)
                if sex is None:
                    codes.append("sex_invalid")
            elif parsed is not None:
                sex = parsed.sex
            if parsed is not None and (
                (birth_date is not None and birth_date != parsed.birth_date)
                or (sex_text and sex is not None and sex != parsed.sex)
            ):
                warnings = warnings or []
                if birth_date is not None and birth_date != parsed.birth_date:
                    warnings.append(NIK_BIRTH_DATE_MISMATCH)
                if sex_text and sex is not None and sex != parsed.sex:
                    warnings.append(NIK_SEX_MISMATCH)

            role = get("role")
            cohorts = cohorts_by_role.get(role) if role else None
            if cohorts is None:
                codes.append("role_unknown" if role not in role_levels else "role_not_in_agreement")
            position = get("position")
            if position is not None and position not in POSITIONS:
                codes.append("position_invalid")

            start_text = get("coverage_start")
            end_text = get("coverage_end")
            start = end = None
            if start_text:
                start = dates.get(start_text, missing)
                if start is missing:
                    start = self._date(start_text)
            if end_text:
                end = dates.get(end_text, missing)
                if end is missing:
                    end = self._date(end_text)
            period_ok = not ((start_text and start is None) or (end_text and end is None))
            if not period_ok:
                codes.append("period_invalid")

            cohort = None
            if cohorts is not None:
                cohort = (
                    cohorts[0]
                    if len(cohorts) == 1
                    else _choose_cohort(cohorts, start, end, context.as_of)
                )
                if cohort is not last_cohort:  # hashing a UUID per row would cost more
                    touched.add(cohort.id)
                    last_cohort = cohort
                if period_ok:
                    start = start or cohort.coverage_start
                    end = end or cohort.coverage_end
                    if end < start:
                        codes.append("period_invalid")
                    elif start < cohort.coverage_start or end > cohort.coverage_end:
                        codes.append("period_outside_cohort")
                if birth_date is not None:
                    day = cohort.voting_day
                    age = (
                        day.year
                        - birth_date.year
                        - ((day.month, day.day) < (birth_date.month, birth_date.day))
                    )
                    if age < cohort.min_age:
                        codes.append("age_below_minimum")
                    elif cohort.max_age is not None and age > cohort.max_age:
                        codes.append("age_above_maximum")

            code_text = get("region_code")
            found = region_codes.get(code_text) if code_text else None  # the usual KODE WILAYAH
            if found is None:
                found = region_of(code_text, get("district_name"), get("village_name"))
                if code_text and len(region_codes) < _REGION_CACHE_LIMIT:
                    region_codes[code_text] = found
            region_code, region_error = found
            if region_error is not None:
                codes.append(region_error)

            tps = get("tps")
            if tps is not None:
                normalized = tps_cache.get(tps)
                if normalized is None:
                    normalized = tps_cache[tps] = _normalize_tps(tps)
                tps = normalized
            if role is not None and not tps and role_levels.get(role) == "tps":
                codes.append("tps_missing")

            replaces_text = get("replaces_nik")
            replaces_nik = None
            if replaces_text:
                replaces_nik = nik_to_int(replaces_text)
                if replaces_nik is None or not check_nik(replaces_text, today=today).ok:
                    codes.append("replaces_nik_not_found")
                    replaces_nik = None

            cells = row.original
            original = CELL_SEPARATOR.join(cells)
            if original.count(CELL_SEPARATOR) > len(cells) - 1:
                original = CELL_SEPARATOR.join(c.replace(CELL_SEPARATOR, " ") for c in cells)
            if "\x00" in original:  # PostgreSQL text cannot hold it: the row is refused
                codes.append(NUL_CHARACTER)
                original, nik_text = clean(original), clean(nik_text)

            if codes:
                result.rejected += 1
                append(
                    (
                        row.row_number,
                        parsed.value if parsed is not None else nik_to_int(nik_text),
                        nik_text or None,
                        codes,
                        [clean(m) for m in self._describer.messages(codes, values, cells)],
                        original,
                        cohort.id if cohort is not None else None,
                        *_EMPTY_FIELDS,
                    )
                )
                continue
            assert parsed is not None and cohort is not None
            append(
                (
                    row.row_number,
                    parsed.value,
                    None,  # a valid NIK's text is its bigint's (see columns.STAGE_COLUMNS)
                    None,
                    None,
                    original,
                    cohort.id,
                    role,
                    position,
                    full_name,
                    birth_date,
                    sex,
                    get("phone"),
                    region_code,
                    tps,
                    start,
                    end,
                    replaces_nik,
                    warnings,
                )
            )
        return result

    def _date(self, text: str) -> date | None:
        value = parse_date(text)
        if len(self._dates) < _DATE_CACHE_LIMIT:
            self._dates[text] = value
        return value

    def _region(
        self, code: str | None, district: str | None, village: str | None
    ) -> tuple[str | None, str | None]:
        key = (code or "", district or "", village or "")
        found = self._regions.get(key)
        if found is None:
            if len(self._regions) >= _REGION_CACHE_LIMIT:
                self._regions.clear()
            found = self._regions[key] = self._resolve_region(*key)
        return found

    def _resolve_region(
        self, code: str, district: str, village: str
    ) -> tuple[str | None, str | None]:
        regions = self.context.regions
        agreement = self.context.agreement_region
        if code:
            dotted = dotted_region(code)
            if dotted not in regions.codes:
                return None, "region_unknown"
            if dotted != agreement and not dotted.startswith(self._agreement_prefix):
                return None, "region_outside_agreement"
            return dotted, None
        if not district and not village:
            return None, "region_missing"
        districts = regions.district_by_name.get(normalize_name(district)) if district else None
        if district and not districts:
            return None, "region_unknown"
        if not village:
            assert districts is not None
            return (districts[0], None) if len(districts) == 1 else (None, "region_unknown")
        villages = regions.village_by_name.get(normalize_name(village), ())
        if districts:
            villages = tuple(v for v in villages if v.rsplit(".", 1)[0] in districts)
        if len(villages) != 1:
            return None, "region_unknown"
        return villages[0], None


# A rejected row stages its number, NIK, codes, messages, cells and cohort, and no data.
_EMPTY_FIELDS = (None,) * (len(STAGE_COLUMNS) - STAGE_COLUMNS.index("cohort_id") - 1)
_MISSING: Any = object()


def _normalize_tps(text: str) -> str:
    s = text.strip()
    if s[:3].upper() == "TPS":
        s = s[3:].strip(" .:-")
    return s


def _choose_cohort(
    cohorts: list[CohortInfo], start: date | None, end: date | None, as_of: date
) -> CohortInfo:
    """The cohort of a role that holds the row's period: by its start, else its end, else the
    one running on the batch's date, else the latest (a role's cohorts never overlap)."""
    if len(cohorts) == 1:
        return cohorts[0]
    for day in (start, end, as_of):
        if day is None:
            continue
        for cohort in cohorts:
            if cohort.coverage_start <= day <= cohort.coverage_end:
                return cohort
        if day is not as_of:
            break
    return max(cohorts, key=lambda c: c.coverage_start)
