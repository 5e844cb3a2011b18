"""JABATAN: the role and position that a roster's words name ("Ketua KPPS": KPPS, ketua)."""

import re
from functools import lru_cache

from app.rosters.parsing.cells import key_of

# The header of the column, read as a field of its own and split into role and position.
JABATAN = "jabatan"

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
    return _POSITION_WORDS.get(key_of(text), text)


def _apply_role(values: dict[str, str], jabatan: str) -> None:
    """Splits a JABATAN (or a role written as one) into role and position."""
    role_text = values.get("role")
    if role_text is not None:
        role, position = _parse_jabatan(role_text)
        if role is not None:
            values["role"] = role
        if position is None and jabatan:
            position = _parse_jabatan(jabatan)[1] or _POSITION_WORDS.get(key_of(jabatan))
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
def role_patch(role: str | None, jabatan: str, position: str | None) -> dict[str, str]:
    """The role and position to store for one combination of those three cells."""
    values = {k: v for k, v in (("role", role), ("position", position)) if v is not None}
    _apply_role(values, jabatan)
    return values


@lru_cache(maxsize=4096)
def jabatan_patch(jabatan: str) -> dict[str, str]:
    """role_patch for the usual sheet, with a JABATAN column and no role or position."""
    return role_patch(None, jabatan, None)
