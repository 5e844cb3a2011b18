"""Synthetic officers for the demo rosters: invented names, valid NIKs, places in the region.

Pure and deterministic: the same seed gives the same officers. A NIK carries the district of
the officer's assignment, a birth date inside the cohort's age limits on voting day, and a
serial counted per district and birth date, so no two officers of one factory share a NIK.
"""

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import orjson

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "L": (
        "Agus", "Ahmad", "Andi", "Bambang", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Irwan",
        "Joko", "Muhammad", "Rahmat", "Rudi", "Slamet", "Syahrul", "Taufik", "Wahyu", "Yusuf",
        "Zulkifli",
    ),
    "P": (
        "Ani", "Dewi", "Fitri", "Indah", "Kartini", "Lestari", "Maya", "Nur", "Putri", "Rina",
        "Rini", "Sari", "Siti", "Sri", "Tuti", "Wati", "Yani", "Yuliana", "Yusnita", "Zahra",
    ),
}  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Harahap", "Hasibuan", "Lubis", "Nasution", "Siregar", "Simatupang", "Tanjung", "Hidayat",
    "Kurniawan", "Pratama", "Saputra", "Setiawan", "Susanto", "Wijaya", "Rahman", "Hakim",
    "Lestari", "Handayani", "Maharani", "Latuconsina", "Pattiasina", "Tuhumury", "Sahetapy",
    "Effendi", "Syahputra",
)  # fmt: skip

# Officers per TPS (DESIGN.md, roles); other TPS-level roles have one.
PER_TPS = {"KPPS": 7, "KETERTIBAN_TPS": 2}
# The first officer of each unit chairs it, the others are members.
CHAIRED_ROLES = frozenset({"PPK", "PPS", "KPPS", "PANWASCAM"})
STAFF_ROLES = frozenset(
    {"SEKRETARIAT_PPK", "SEKRETARIAT_PPS", "SEKRETARIAT_PANWASCAM", "TENAGA_PENDUKUNG"}
)
# Ages on voting day, narrowed further by each cohort's own limits.
USUAL_AGES = (21, 55)
MALE_SHARE = 0.6
SERIAL_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Area:
    """The districts and villages inside one agreement's region, dotted codes."""

    districts: tuple[str, ...]
    villages: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CohortPlan:
    """What a cohort's officers must fit: role, how many, period and age limits."""

    role: str
    level: str  # the role's level: kecamatan, desa, tps or any
    headcount: int
    coverage_start: date
    coverage_end: date
    voting_day: date
    min_age: int
    max_age: int | None


@dataclass(frozen=True, slots=True)
class Assignment:
    region_code: str
    tps: str | None
    position: str | None


class OfficerFactory:
    """Makes roster rows; keeps the NIK serials it gave, across all the rosters it makes."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.serials: Counter[str] = Counter()

    def roster(self, area: Area, cohorts: list[CohortPlan]) -> list[dict[str, str]]:
        """One row per officer (the roster push's field names), cohort after cohort."""
        return [row for cohort in cohorts for row in self._rows(area, cohort)]

    def _rows(self, area: Area, cohort: CohortPlan) -> Iterator[dict[str, str]]:
        start, end = cohort.coverage_start.isoformat(), cohort.coverage_end.isoformat()
        for index in range(cohort.headcount):
            place = assignment(area, cohort.role, cohort.level, index)
            sex = "L" if self.random.random() < MALE_SHARE else "P"
            born = self._birth_date(cohort)
            row = {
                "nik": self._nik(district_of(place.region_code), born, sex),
                "full_name": self._name(sex),
                "birth_date": born.isoformat(),
                "sex": sex,
                "role": cohort.role,
                "region_code": place.region_code,
                "coverage_start": start,
                "coverage_end": end,
            }
            if place.position is not None:
                row["position"] = place.position
            if place.tps is not None:
                row["tps"] = place.tps
            yield row

    def _name(self, sex: str) -> str:
        return f"{self.random.choice(FIRST_NAMES[sex])} {self.random.choice(LAST_NAMES)}"

    def _birth_date(self, cohort: CohortPlan) -> date:
        youngest, oldest = age_range(cohort.min_age, cohort.max_age)
        latest = years_before(cohort.voting_day, youngest)
        earliest = years_before(cohort.voting_day, oldest + 1) + timedelta(days=1)
        return earliest + timedelta(days=self.random.randint(0, (latest - earliest).days))

    def _nik(self, district: str, born: date, sex: str) -> str:
        day = born.day + (40 if sex == "P" else 0)
        head = f"{district.replace('.', '')}{day:02d}{born:%m%y}"
        self.serials[head] += 1
        serial = self.serials[head]
        if serial >= SERIAL_LIMIT:
            raise ValueError("too many demo officers born in one district on one day")
        return f"{head}{serial:04d}"


def age_range(min_age: int, max_age: int | None) -> tuple[int, int]:
    """The usual ages, kept inside the cohort's limits."""
    youngest = max(min_age, USUAL_AGES[0])
    oldest = min(max_age, USUAL_AGES[1]) if max_age is not None else USUAL_AGES[1]
    if oldest < youngest:
        return min_age, max_age if max_age is not None else min_age
    return youngest, oldest


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def assignment(area: Area, role: str, level: str, index: int) -> Assignment:
    """Where the index-th officer of a role serves: units are filled round-robin, and a TPS
    takes its role's officers (7 KPPS) before the next one opens."""
    if level == "tps":
        per_tps = PER_TPS.get(role, 1)
        tps_index, seat = divmod(index, per_tps)
        villages = area.villages or area.districts
        number, village = divmod(tps_index, len(villages))
        return Assignment(villages[village], f"{number + 1:03d}", _position(role, seat == 0))
    units = area.villages if level == "desa" and area.villages else area.districts
    return Assignment(units[index % len(units)], None, _position(role, index < len(units)))


def district_of(region_code: str) -> str:
    """The district (12.09.18) of a district or village (12.09.18.2002) code."""
    return ".".join(region_code.split(".")[:3])


def _position(role: str, first: bool) -> str | None:
    if role in CHAIRED_ROLES:
        return "ketua" if first else "anggota"
    if role in STAFF_ROLES:
        return "staf"
    return None


def ndjson(rows: list[dict[str, str]]) -> bytes:
    return b"\n".join(orjson.dumps(row) for row in rows) + b"\n"
