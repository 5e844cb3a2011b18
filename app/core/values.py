"""Value types shared by request bodies: the window a date of the elections' business may
fall in, the month within it, and integers and booleans taken only as JSON numbers and
booleans (never `"12"` or `true` for a headcount)."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, Strict

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
# `YYYY-MM` with the year inside the window (2000-2099), so that `0000-01` is refused.
MONTH_PATTERN = r"^20\d{2}-(0[1-9]|1[0-2])$"


def _in_window(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"Date should be between {EARLIEST} and {LATEST}")
    return value


# Agreements, cohorts, payments, elections, claims: not birth dates.
BusinessDate = Annotated[
    date,
    AfterValidator(_in_window),
    Field(json_schema_extra={"formatMinimum": str(EARLIEST), "formatMaximum": str(LATEST)}),
]
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]
