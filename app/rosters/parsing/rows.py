"""What reading a roster file gives: raw rows, or an error about the file as a whole."""

from dataclasses import dataclass
from typing import Literal

RosterFileErrorCode = Literal[
    "roster_header_not_found", "roster_sheet_not_found", "roster_malformed", "roster_empty"
]


@dataclass(slots=True)
class RawRow:
    """One officer as read from the file, before any validation."""

    row_number: int
    values: dict[str, str]
    original: list[str]
    nik_is_number: bool


class RosterFileError(Exception):
    """The file as a whole cannot be read; `code` is stable, `detail` is for people."""

    def __init__(self, code: RosterFileErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code: RosterFileErrorCode = code
        self.detail = detail


def malformed(detail: str) -> RosterFileError:
    return RosterFileError("roster_malformed", detail)


def not_utf8(where: int) -> RosterFileError:
    return malformed(f"The file is not UTF-8 text (near row {where}); save it as CSV UTF-8.")
