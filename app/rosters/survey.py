"""What is read of a whole roster file before any row is applied: its row count and options
(to choose the synchronous or the background path), and the NIKs more than one row gives.
Blocking reads of the uploaded file, called in a worker thread."""

from dataclasses import dataclass, field
from itertools import islice
from typing import BinaryIO

from app.nik import nik_to_int
from app.rosters.parsing import RoleVocabulary, RosterFileError, RosterFormat, RosterReader


@dataclass(frozen=True, slots=True)
class Inspection:
    rows: int = field(metadata={"doc": "rows counted, at most `limit` + 1"})
    options: dict[str, object] = field(default_factory=dict)


def inspect(
    file: BinaryIO, fmt: RosterFormat, sheet: str | None, limit: int, roles: RoleVocabulary
) -> Inspection:
    """Counts the rows up to limit + 1 (enough to choose the synchronous or background path)
    and reads the JSON body's options; blocking, so call it in a worker thread."""
    file.seek(0)
    reader = RosterReader(file, fmt, roles, sheet=sheet)
    try:
        rows = sum(1 for _ in islice(reader, limit + 1))
        return Inspection(rows, dict(reader.options))
    finally:
        reader.close()


@dataclass(frozen=True, slots=True)
class Survey:
    """What is read of the whole file before any row is applied."""

    duplicates: list[int]
    replacements: bool


def survey_file(
    file: BinaryIO, fmt: RosterFormat, sheet: str | None, roles: RoleVocabulary
) -> Survey:
    """The NIKs that more than one row of the file gives, and whether any row replaces
    someone; blocking, so call it in a thread.

    Read before anything is applied, so that a chunk can be applied as soon as it is staged:
    every row with a repeated NIK is rejected, the first one too."""
    file.seek(0)
    seen: set[int] = set()
    repeated: set[int] = set()
    replacements = False
    reader = RosterReader(file, fmt, roles, sheet=sheet)
    try:
        for text, replaces in reader.nik_cells():
            replacements = replacements or replaces
            nik = nik_to_int(text)
            if nik is None:
                continue
            if nik in seen:
                repeated.add(nik)
            else:
                seen.add(nik)
    except RosterFileError:
        pass  # the reading proper stops at the same place and says where
    finally:
        reader.close()
    return Survey(sorted(repeated), replacements)
