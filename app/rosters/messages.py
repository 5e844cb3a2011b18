"""What the office reads about a row: each code's sentence, naming the file's own column, and
for an unknown jabatan or region the closest values it accepts.

The sentences are Indonesian (the offices fix the file); the codes stay stable. A column is
named as the file names it (its header, or its JSON key), else by its usual Indonesian header
from columns.py. Suggestions are computed for rejected rows only, cached per value and capped
per batch, so that a hostile file of a million unknown jabatan costs no more than a valid one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from app.rosters.columns import HEADERS
from app.rosters.parsing.headers import field_for_key
from app.rosters.parsing.jabatan import JABATAN
from app.rosters.regions import dotted_region, normalize_name

if TYPE_CHECKING:
    from app.rosters.validation import RosterContext

NUL_CHARACTER = "nul_character"
REPLACEMENT = "\ufffd"

MESSAGES: dict[str, str] = {
    "nik_format": "NIK harus 16 digit angka",
    "nik_stored_as_number": (
        "NIK tersimpan sebagai angka sehingga digit terakhir hilang; format kolom NIK sebagai "
        "Teks lalu ketik ulang NIK"
    ),
    "nik_province": "Kode provinsi pada NIK tidak dikenal",
    "nik_region_zero": "Kode kabupaten/kota atau kecamatan pada NIK bernilai 00",
    "nik_birth_date": "Tanggal lahir pada NIK bukan tanggal yang sah",
    "nik_serial_zero": "Nomor urut pada NIK bernilai 0000",
    "name_missing": "Nama kosong",
    "birth_date_missing": "Tanggal lahir kosong",
    "birth_date_invalid": "Tanggal lahir tidak dapat dibaca (pakai DD-MM-YYYY) atau di masa depan",
    "sex_invalid": "Jenis kelamin harus L atau P",
    "role_unknown": "Jabatan tidak dikenal",
    "role_not_in_agreement": "Jabatan ini tidak ada dalam perjanjian kerja sama",
    "position_invalid": "Kedudukan harus ketua, anggota, sekretaris atau staf",
    "region_missing": "Kode wilayah (atau kecamatan dan desa) kosong",
    "region_unknown": "Wilayah tidak ditemukan",
    "region_outside_agreement": "Wilayah berada di luar wilayah perjanjian kerja sama",
    "tps_missing": "Nomor TPS wajib diisi untuk jabatan tingkat TPS",
    "period_invalid": "Tanggal mulai atau selesai tidak dapat dibaca, atau selesai sebelum mulai",
    "period_outside_cohort": "Masa tugas berada di luar masa perlindungan kelompok petugas",
    "age_below_minimum": "Usia pada hari pemungutan suara di bawah batas minimum",
    "age_above_maximum": "Usia pada hari pemungutan suara di atas batas maksimum",
    "replaces_nik_not_found": "NIK yang digantikan tidak terdaftar aktif pada kelompok ini",
    NUL_CHARACTER: "Sel berisi karakter NUL (kode 0) yang tidak dapat disimpan; hapus karakter itu",
}

# NIK warnings: the row is taken, the office should look.
WARNING_MESSAGES: dict[str, str] = {
    "nik_birth_date_mismatch": (
        "Tanggal lahir berbeda dengan tanggal lahir yang terkandung dalam NIK; periksa keduanya"
    ),
    "nik_sex_mismatch": "Jenis kelamin berbeda dengan yang terkandung dalam NIK; periksa keduanya",
    "nik_region_unknown": (
        "Kode kecamatan pada NIK tidak ada di tabel wilayah saat ini (NIK dari wilayah lama "
        "sebelum pemekaran); baris tetap diterima"
    ),
}

# The field each code is about (the region ones are told apart per row, see _fields).
_FIELD_OF: dict[str, tuple[str, ...]] = {
    **{code: ("nik",) for code in MESSAGES if code.startswith("nik_")},
    "name_missing": ("full_name",),
    "birth_date_missing": ("birth_date",),
    "birth_date_invalid": ("birth_date",),
    "age_below_minimum": ("birth_date",),
    "age_above_maximum": ("birth_date",),
    "sex_invalid": ("sex",),
    "role_unknown": ("role",),
    "role_not_in_agreement": ("role",),
    "position_invalid": ("position",),
    "tps_missing": ("tps",),
    "period_invalid": ("coverage_start", "coverage_end"),
    "period_outside_cohort": ("coverage_start", "coverage_end"),
    "replaces_nik_not_found": ("replaces_nik",),
    "nik_birth_date_mismatch": ("birth_date",),
    "nik_sex_mismatch": ("sex",),
    "nik_region_unknown": ("nik",),
}
_REGION_CODES = frozenset({"region_missing", "region_unknown", "region_outside_agreement"})
# Where a row names no such column: the usual header (columns.py), JABATAN for role and position.
_DEFAULT_LABELS = {
    **{field: names[0] for field, names in HEADERS.items()},
    "role": "JABATAN",
    "position": "KEDUDUKAN",
    "region_code": "KODE WILAYAH",
}
SUGGESTIONS = 3
_SUGGESTED_VALUES_LIMIT = 500


def column_labels(columns: Sequence[str]) -> dict[str, str]:
    """The file's name of each field's column (the first column that names it)."""
    labels: dict[str, str] = {}
    for column in columns:
        field = field_for_key(column)
        if field is not None and field not in labels:
            labels[field] = column
    jabatan = labels.get(JABATAN)
    if jabatan is not None:
        labels.setdefault("role", jabatan)
        labels.setdefault("position", jabatan)
    return labels


def labelled(labels: dict[str, str], fields: Sequence[str], text: str) -> str:
    names = " / ".join(dict.fromkeys(labels.get(f) or _DEFAULT_LABELS.get(f, f) for f in fields))
    return f"Kolom {names}: {text}"


def warning_messages(codes: Sequence[str], columns: Sequence[str]) -> list[str]:
    """The sentence of each NIK warning of a row, naming the file's columns."""
    labels = column_labels(columns)
    return [
        labelled(labels, _FIELD_OF.get(code, ("nik",)), WARNING_MESSAGES.get(code, code))
        for code in codes
    ]


def clean(text: str) -> str:
    """Text PostgreSQL can store: a NUL becomes U+FFFD, which shows where it was."""
    return text.replace("\x00", REPLACEMENT)


class Describer:
    """The messages of one batch's rejected rows."""

    def __init__(self, context: RosterContext, columns: Callable[[], Sequence[str]]) -> None:
        self._context = context
        self._columns = columns
        self._labels: dict[str, str] = {}
        self._labelled_columns = -1
        self._suggested: dict[tuple[str, str], str] = {}
        self._codes_under: dict[tuple[str, int], list[str]] = {}

    def messages(
        self, codes: Sequence[str], values: dict[str, str], cells: Sequence[str]
    ) -> list[str]:
        labels = self._labels_now()
        return [
            labelled(labels, self._fields(code, values, cells), self._sentence(code, values))
            for code in codes
        ]

    def _labels_now(self) -> dict[str, str]:
        # NDJSON's columns grow as keys appear: read again while the file is being read.
        columns = self._columns()
        if len(columns) != self._labelled_columns:
            self._labels, self._labelled_columns = column_labels(columns), len(columns)
        return self._labels

    def _fields(self, code: str, values: dict[str, str], cells: Sequence[str]) -> Sequence[str]:
        if code in _REGION_CODES:
            if values.get("region_code") or code != "region_unknown":
                return ("region_code",)
            return (self._unknown_name(values),)
        if code == NUL_CHARACTER:
            columns = self._columns()
            at = [columns[i] if i < len(columns) else str(i + 1) for i, c in enumerate(cells)]
            return [name for name, cell in zip(at, cells, strict=True) if "\x00" in cell]
        return _FIELD_OF.get(code, ())

    def _sentence(self, code: str, values: dict[str, str]) -> str:
        text = MESSAGES.get(code, code)
        if code == "role_unknown":
            return text + self._suggest("role", values.get("role", ""), self._roles)
        if code == "role_not_in_agreement":
            roles = ", ".join(sorted(self._context.cohorts_by_role))
            return f"{text}; perjanjian ini mencakup: {roles or '-'}"
        if code == "region_outside_agreement":
            return f"{text} ({self._context.agreement_region})"
        if code == "region_unknown":
            return text + self._region_suggestion(values)
        return text

    def _region_suggestion(self, values: dict[str, str]) -> str:
        code = values.get("region_code")
        if code:
            return self._suggest("region_code", dotted_region(code), self._region_codes)
        regions = self._context.regions
        if self._unknown_name(values) == "district_name":
            name = normalize_name(values.get("district_name", ""))
            return self._suggest("district", name, _closest_names(regions.district_by_name))
        name = normalize_name(values.get("village_name", ""))
        return self._suggest("village", name, _closest_names(regions.village_by_name))

    def _unknown_name(self, values: dict[str, str]) -> str:
        """Which of the names a row gives instead of a code was not found."""
        district = values.get("district_name")
        if district and normalize_name(district) not in self._context.regions.district_by_name:
            return "district_name"
        return "village_name" if values.get("village_name") else "district_name"

    def _suggest(self, kind: str, value: str, candidates: Callable[[str], list[str]]) -> str:
        """'; yang paling mirip: A, B' (cached per value, computed for a bounded number)."""
        key = (kind, value)
        found = self._suggested.get(key)
        if found is None:
            if len(self._suggested) >= _SUGGESTED_VALUES_LIMIT or not value:
                return ""
            close = candidates(value)
            found = self._suggested[key] = (
                f"; yang paling mirip: {', '.join(close)}" if close else ""
            )
        return found

    def _roles(self, value: str) -> list[str]:
        return self._context.roles.closest(value, SUGGESTIONS)

    def _region_codes(self, value: str) -> list[str]:
        """The codes of the same level closest to `value`: under its parent when that exists,
        else anywhere in the agreement's region."""
        parent = value.rsplit(".", 1)[0]
        if parent == value or parent not in self._context.regions.codes:
            parent = self._context.agreement_region
        depth = value.count(".")
        codes = self._codes_under.get((parent, depth))
        if codes is None:
            codes = self._codes_under[parent, depth] = sorted(
                c
                for c in self._context.regions.codes
                if c.startswith(parent + ".") and c.count(".") == depth
            )
        return difflib.get_close_matches(value, codes, SUGGESTIONS, 0.6)


def _closest_names(names: Iterable[str]) -> Callable[[str], list[str]]:
    """Region names (kept folded) closest to a folded name, title-cased to be read."""
    return lambda value: [n.title() for n in difflib.get_close_matches(value, names, SUGGESTIONS)]
