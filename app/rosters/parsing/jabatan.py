"""JABATAN: the role and position that a roster's words name ("Ketua KPPS": KPPS, ketua).

The words of each role come from the role catalog (the `role_labels` of migration 0009, read
through app.reference): RoleVocabulary holds them for one parse. What is grammar rather than
catalog stays here: the position words, the filler words, and that the Sekretaris of a body
heads its secretariat (the role `SEKRETARIAT_<body>`, where the catalog has one).
"""

import difflib
import re
from collections.abc import Iterable
from functools import lru_cache

from app.rosters.parsing.cells import key_of

# The header of the column, read as a field of its own and split into role and position.
JABATAN = "jabatan"

POSITION_WORDS = {
    "ketua": "ketua",
    "anggota": "anggota",
    "sekretaris": "sekretaris",
    "staf": "staf",
    "staff": "staf",
}
_FILLER_WORDS = frozenset({"petugas", "kpu", "bawaslu"})
_SECRETARIAT = "SEKRETARIAT_"
_CACHE_LIMIT = 4096

Parsed = tuple[str | None, str | None]
# A catalog row: label, role code, the position it implies, the label it is read as.
Label = tuple[str, str, str | None, str | None]


class RoleVocabulary:
    """The role codes and labels of the catalog, and the JABATAN read with them (cached)."""

    def __init__(self, codes: Iterable[str], labels: Iterable[Label]) -> None:
        self.codes = frozenset(codes)
        labels = list(labels)
        self._titles = {
            label: (role, position) for label, role, position, read_as in labels if not read_as
        }
        # Longer names first, so that a name is read before a shorter one inside it.
        self._names = sorted(
            ((label, read_as) for label, _, _, read_as in labels if read_as),
            key=lambda pair: (-len(pair[0].split()), -len(pair[0]), pair[0]),
        )
        # A "Sekretaris PPS" heads the PPS secretariat; he is not one of the three PPS members.
        self._secretariat_of = {
            code.removeprefix(_SECRETARIAT): code
            for code in self.codes
            if code.startswith(_SECRETARIAT)
        }
        self._parsed: dict[str, Parsed] = {}
        self._patches: dict[tuple[str | None, str, str | None], dict[str, str]] = {}

    def parse(self, text: str) -> Parsed:
        """(role code, position) from a JABATAN like "Ketua KPPS"; (None, None) when unknown."""
        found = self._parsed.get(text)
        if found is None:
            if len(self._parsed) >= _CACHE_LIMIT:
                self._parsed.clear()
            found = self._parsed[text] = self._parse(text)
        return found

    def role_patch(self, role: str | None, jabatan: str, position: str | None) -> dict[str, str]:
        """The role and position to store for one combination of those three cells."""
        key = (role, jabatan, position)
        patch = self._patches.get(key)
        if patch is None:
            if len(self._patches) >= _CACHE_LIMIT:
                self._patches.clear()
            patch = {k: v for k, v in (("role", role), ("position", position)) if v is not None}
            self._apply_role(patch, jabatan)
            self._patches[key] = patch
        return patch

    def jabatan_patch(self, jabatan: str) -> dict[str, str]:
        """role_patch for the usual sheet, with a JABATAN column and no role or position."""
        return self.role_patch(None, jabatan, None)

    def closest(self, text: str, n: int) -> list[str]:
        """The role codes whose code or catalog label is closest to an unknown JABATAN."""
        words = {code.lower().replace("_", " "): code for code in self.codes}
        words.update((label, role) for label, (role, _) in self._titles.items())
        phrase = self._phrase(text)[1] or text.lower()
        close = difflib.get_close_matches(phrase, list(words), n * 2, 0.5)
        return list(dict.fromkeys(words[word] for word in close))[:n]

    def _phrase(self, text: str) -> tuple[str | None, str]:
        """The position a JABATAN names, and its other words as the catalog's labels are."""
        words = [
            w for w in re.sub(r"[^a-z0-9]+", " ", text.lower()).split() if w not in _FILLER_WORDS
        ]
        position = next((POSITION_WORDS[w] for w in words if w in POSITION_WORDS), None)
        phrase = " ".join(w for w in words if w not in POSITION_WORDS)
        for name, read_as in self._names:
            phrase = _replace_words(phrase, name, read_as)
        return position, phrase

    def _parse(self, text: str) -> Parsed:
        code = text.strip().upper()
        if code in self.codes:
            return code, None
        position, phrase = self._phrase(text)
        found = self._titles.get(phrase)
        if found is None:
            return None, None
        role, implied = found
        if position == "sekretaris" and role in self._secretariat_of:
            role = self._secretariat_of[role]
        return role, position or implied

    def _apply_role(self, values: dict[str, str], jabatan: str) -> None:
        """Splits a JABATAN (or a role written as one) into role and position."""
        role_text = values.get("role")
        if role_text is not None:
            role, position = self.parse(role_text)
            if role is not None:
                values["role"] = role
            if position is None and jabatan:
                position = self.parse(jabatan)[1] or POSITION_WORDS.get(key_of(jabatan))
        elif jabatan:
            role, position = self.parse(jabatan)
            # Unparseable text goes through unchanged so that the validator names it.
            values["role"] = role if role is not None else jabatan
        else:
            position = None
        given = values.get("position")
        if given is not None:
            values["position"] = _canonical_position(given)
        elif position is not None:
            values["position"] = position


def _replace_words(phrase: str, old: str, new: str) -> str:
    padded = f" {phrase} ".replace(f" {old} ", f" {new} ")
    return padded.strip()


@lru_cache(maxsize=1024)
def _canonical_position(text: str) -> str:
    return POSITION_WORDS.get(key_of(text), text)
