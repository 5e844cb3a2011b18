"""The service's clock: a day is a day in Asia/Jakarta (WIB), where the officers serve."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def now() -> datetime:
    return datetime.now(JAKARTA)


def today() -> date:
    return datetime.now(JAKARTA).date()


def day_of(moment: datetime) -> date:
    """The day in Jakarta of an aware moment (the database gives them in UTC)."""
    return moment.astimezone(JAKARTA).date()
