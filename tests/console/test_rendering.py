"""What the console prints of a moment is its day in Jakarta, whatever zone it came in."""

from datetime import UTC, date, datetime

from app.console.rendering import tanggal


def test_a_moment_late_in_the_utc_evening_is_the_next_day_in_jakarta() -> None:
    evening = datetime(2024, 11, 10, 20, 0, tzinfo=UTC)  # 03:00 WIB on the 11th
    assert tanggal(evening) == "11 Nov 2024"
    assert tanggal(evening.isoformat()) == "11 Nov 2024"
    assert tanggal(date(2024, 11, 10)) == "10 Nov 2024"
    assert tanggal("2024-11-10") == "10 Nov 2024"
    assert tanggal(None) == "-"
