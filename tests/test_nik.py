"""Property tests of the NIK validator against the rules of DESIGN.md."""

from __future__ import annotations

import dataclasses
import gc
import pickle
from calendar import isleap
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.nik import (
    PROVINCE_CODES,
    NikCheck,
    ParsedNik,
    check_nik,
    check_niks,
    format_nik,
    mask_nik,
    nik_of_number,
    nik_to_int,
)

TODAY = date(2026, 11, 22)
# Up to 2039 a birth date from 1940 on never has a 20YY twin that is also in the past; before
# 2000 the rule of DESIGN.md (20YY or else 19YY) is not meant to hold.
TODAYS = st.dates(date(2000, 1, 1), date(2039, 12, 31))
# A new today means a new birth-date table; hypothesis must not count that against a test.
slow_setup = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Parts:
    province: str
    regency: str
    district: str
    birth_date: date
    sex: str
    serial: str

    @property
    def ddmmyy(self) -> str:
        day = self.birth_date.day + (40 if self.sex == "P" else 0)
        return f"{day:02d}{self.birth_date:%m%y}"

    @property
    def text(self) -> str:
        return f"{self.province}{self.regency}{self.district}{self.ddmmyy}{self.serial}"


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def two_digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


@st.composite
def nik_parts(draw: st.DrawFn, today: date = TODAY) -> Parts:
    return Parts(
        province=draw(st.sampled_from(sorted(PROVINCE_CODES))),
        regency=draw(two_digits(1, 99)),
        district=draw(two_digits(1, 99)),
        birth_date=draw(st.dates(date(1940, 1, 1), years_before(today, 17))),
        sex=draw(st.sampled_from(["L", "P"])),
        serial=draw(st.integers(1, 9999).map(lambda n: f"{n:04d}")),
    )


@st.composite
def today_and_parts(draw: st.DrawFn) -> tuple[date, Parts]:
    today = draw(TODAYS)
    return today, draw(nik_parts(today))


def errors(raw: object, today: date = TODAY) -> tuple[str, ...]:
    return check_nik(raw, today=today).errors


def birth_oracle(ddmmyy: str, today: date) -> date | None:
    """The rule of DESIGN.md written the slow, obvious way."""
    day, month, year = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    if day > 40:
        day -= 40
    if not 1 <= day <= 31:
        return None
    for century in (2000, 1900):
        try:
            born = date(century + year, month, day)
        except ValueError:
            continue
        if century == 1900 or born <= today:
            return born
    return None


# --- valid NIKs ------------------------------------------------------------------------------


@slow_setup
@given(today_and_parts())
def test_valid_nik_parses_back_to_its_parts(drawn: tuple[date, Parts]) -> None:
    today, parts = drawn
    check = check_nik(parts.text, today=today)
    assert check.ok
    assert (check.errors, check.warnings) == ((), ())
    assert check.nik == ParsedNik(
        value=int(parts.text),
        province=parts.province,
        regency=f"{parts.province}.{parts.regency}",
        district=f"{parts.province}.{parts.regency}.{parts.district}",
        birth_date=parts.birth_date,
        sex=parts.sex,  # type: ignore[arg-type]
        serial=parts.serial,
    )
    assert str(check.nik) == parts.text


@given(nik_parts())
def test_an_int_from_json_and_surrounding_whitespace_are_accepted(parts: Parts) -> None:
    expected = check_nik(parts.text, today=TODAY)
    assert check_nik(int(parts.text), today=TODAY) == expected
    assert check_nik(f" \t{parts.text}\u00a0\r\n", today=TODAY) == expected


@given(nik_parts())
def test_the_fast_built_objects_are_ordinary_frozen_dataclasses(parts: Parts) -> None:
    check = check_nik(parts.text, today=TODAY)
    nik = check.nik
    assert type(check) is NikCheck
    assert type(nik) is ParsedNik
    assert dataclasses.replace(nik) == nik
    assert hash(dataclasses.replace(nik)) == hash(nik)
    assert pickle.loads(pickle.dumps(check)) == check  # noqa: S301 (our own bytes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        nik.serial = "0001"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.errors = ("x",)  # type: ignore[misc]


@given(nik_parts())
def test_women_add_40_to_the_day(parts: Parts) -> None:
    woman = dataclasses.replace(parts, sex="P")
    man = dataclasses.replace(parts, sex="L")
    assert int(woman.ddmmyy[:2]) == int(man.ddmmyy[:2]) + 40
    woman_nik, man_nik = (
        check_nik(woman.text, today=TODAY).nik,
        check_nik(man.text, today=TODAY).nik,
    )
    assert woman_nik is not None and man_nik is not None
    assert (woman_nik.sex, man_nik.sex) == ("P", "L")
    assert woman_nik.birth_date == man_nik.birth_date == parts.birth_date


@slow_setup
@given(TODAYS, st.integers(1, 28), st.integers(1, 12), nik_parts())
def test_a_year_after_this_one_is_last_century(
    today: date, day: int, month: int, parts: Parts
) -> None:
    yy = (today.year + 1) % 100
    text = f"{parts.text[:6]}{day:02d}{month:02d}{yy:02d}{parts.serial}"
    nik = check_nik(text, today=today).nik
    assert nik is not None
    assert nik.birth_date == date(today.year + 1 - 100, month, day)


@slow_setup
@given(TODAYS, st.integers(-400, 400))
def test_the_century_is_the_latest_that_is_not_in_the_future(today: date, shift: int) -> None:
    born = today + timedelta(days=shift)
    text = f"12091{8 if shift else 7}{born:%d%m%y}0001"
    nik = check_nik(text, today=today).nik
    if born > today and born.month == 2 and born.day == 29 and not isleap(born.year - 100):
        # 29 February 2000 seen from before it: 1900 was no leap year.
        assert nik is None
        return
    assert nik is not None
    assert nik.birth_date == (born if born <= today else born.replace(year=born.year - 100))


def test_the_century_examples() -> None:
    assert check_nik("1209182711260001", today=TODAY).nik.birth_date == date(1926, 11, 27)  # type: ignore[union-attr]
    assert check_nik("1209182211260001", today=TODAY).nik.birth_date == date(2026, 11, 22)  # type: ignore[union-attr]
    assert check_nik("1209180101270001", today=TODAY).nik.birth_date == date(1927, 1, 1)  # type: ignore[union-attr]
    assert check_nik("1209182902000001", today=TODAY).nik.birth_date == date(2000, 2, 29)  # type: ignore[union-attr]
    assert errors("1209182902000001", today=date(1999, 12, 31)) == ("nik_birth_date",)


# --- one corrupted field, one exact code -----------------------------------------------------


@given(nik_parts(), st.data())
def test_a_wrong_length_is_a_format_error(parts: Parts, data: st.DataObject) -> None:
    shorter = parts.text[: data.draw(st.integers(0, 15))]
    longer = parts.text + data.draw(st.text("0123456789", min_size=1, max_size=5))
    assert errors(shorter) == ("nik_format",)
    assert errors(longer) == ("nik_format",)


NOT_ASCII_DIGITS = st.characters(blacklist_categories=["Cs"]).filter(
    lambda char: not ("0" <= char <= "9")
)


@given(nik_parts(), st.integers(0, 15), NOT_ASCII_DIGITS)
def test_a_character_that_is_not_an_ascii_digit_is_a_format_error(
    parts: Parts, position: int, char: str
) -> None:
    text = parts.text[:position] + char + parts.text[position + 1 :]
    assert errors(text) == ("nik_format",)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "1209 1867 0203 8780", "١٢٠٩١٨٦٧٠٢٠٣٨٧٨٠", None, True, False, b"1209186702038780"],
)
def test_format_examples(raw: object) -> None:
    assert errors(raw) == ("nik_format",)


@given(nik_parts(), two_digits(0, 99).filter(lambda code: code not in PROVINCE_CODES))
def test_a_province_not_among_the_38_is_refused(parts: Parts, province: str) -> None:
    assert errors(dataclasses.replace(parts, province=province).text) == ("nik_province",)


@given(nik_parts(), st.sampled_from(["regency", "district", "both"]))
def test_regency_or_district_00_is_refused(parts: Parts, which: str) -> None:
    zeroed = dataclasses.replace(
        parts,
        regency="00" if which != "district" else parts.regency,
        district="00" if which != "regency" else parts.district,
    )
    assert errors(zeroed.text) == ("nik_region_zero",)


@given(nik_parts(), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99))
def test_the_birth_date_field_follows_the_rule(
    parts: Parts, day: int, month: int, year: int
) -> None:
    ddmmyy = f"{day:02d}{month:02d}{year:02d}"
    text = parts.text[:6] + ddmmyy + parts.serial
    expected = birth_oracle(ddmmyy, TODAY)
    check = check_nik(text, today=TODAY)
    if expected is None:
        assert check.errors == ("nik_birth_date",)
    else:
        assert check.nik is not None and check.nik.birth_date == expected
        assert check.nik.sex == ("P" if day > 40 else "L")


IMPOSSIBLE_DAYS = ["3102", "3002", "2902", "3104", "3106", "3109", "3111", "0001", "3200", "0013"]
IMPOSSIBLE_DAYS += ["1513", "1500", "0005", "3505", "4005", "3205", "7102", "7205", "9901", "8003"]


@given(nik_parts(), st.sampled_from(IMPOSSIBLE_DAYS))
def test_an_impossible_day_or_month_is_refused(parts: Parts, ddmm: str) -> None:
    yy = "01" if ddmm in ("2902", "6902") else parts.ddmmyy[4:]
    text = parts.text[:6] + ddmm + yy + parts.serial
    assert errors(text) == ("nik_birth_date",)


@given(nik_parts())
def test_serial_0000_is_refused(parts: Parts) -> None:
    assert errors(dataclasses.replace(parts, serial="0000").text) == ("nik_serial_zero",)


def test_every_error_is_reported_in_order() -> None:
    assert errors("0000003202000000") == (
        "nik_province",
        "nik_region_zero",
        "nik_birth_date",
        "nik_serial_zero",
    )
    assert errors("9912000102990000") == ("nik_province", "nik_region_zero", "nik_serial_zero")


@given(nik_parts())
def test_a_nik_kept_as_a_number_is_refused_alone(parts: Parts) -> None:
    # Would have a province and a serial error, were it not a number.
    value = int(dataclasses.replace(parts, serial="0000", province="99").text)
    for raw in (
        float(parts.text),
        f"{float(parts.text)}",
        f"{int(parts.text) / 1e15:.15f}E+15",
        f"{int(parts.text) / 1e15:.5f}E+15".replace(".", ","),
        f"{int(parts.text) / 1e15:.4e}"[:-4] + "e+15",
        f"{parts.text}.0",
        f"{value}.0",
        value // 10,
        int(parts.text) * 10,
    ):
        assert errors(raw) == ("nik_stored_as_number",), raw


@given(st.floats())
def test_a_float_is_always_a_number_error(raw: float) -> None:
    assert errors(raw) == ("nik_stored_as_number",)


@pytest.mark.parametrize(
    "raw", ["1.209186702038780E+15", "1.6012E+15", "1209186702038780.0", " 1,20919E+15 ", 120918]
)
def test_number_examples(raw: object) -> None:
    assert errors(raw) == ("nik_stored_as_number",)


# --- warnings --------------------------------------------------------------------------------


@given(nik_parts())
def test_a_district_missing_from_the_table_is_only_a_warning(parts: Parts) -> None:
    district = f"{parts.province}.{parts.regency}.{parts.district}"
    missing = check_nik(parts.text, today=TODAY, known_districts={"11.01.01"} - {district})
    assert missing.ok and missing.nik is not None
    assert missing.warnings == ("nik_region_unknown",)
    assert check_nik(parts.text, today=TODAY, known_districts={district}).warnings == ()


@given(nik_parts(), st.dates(date(1900, 1, 1), TODAY))
def test_a_stated_birth_date_must_agree(parts: Parts, stated: date) -> None:
    check = check_nik(parts.text, today=TODAY, stated_birth_date=stated)
    assert check.ok
    assert check.warnings == (() if stated == parts.birth_date else ("nik_birth_date_mismatch",))


def test_a_stated_birth_date_may_be_a_datetime() -> None:
    nik = "1209186702038780"
    assert check_nik(nik, today=TODAY, stated_birth_date=datetime(2003, 2, 27)).warnings == ()
    assert check_nik(nik, today=TODAY, stated_birth_date=datetime(2003, 2, 28)).warnings == (
        "nik_birth_date_mismatch",
    )


SEX_WORDS = {
    "L": ["L", "l", "M", "m", "Laki-laki", "LAKI-LAKI", " laki-laki "],
    "P": ["P", "p", "F", "f", "Perempuan", "PEREMPUAN", " perempuan\t"],
}


@given(nik_parts(), st.sampled_from(["L", "P"]), st.data())
def test_a_stated_sex_must_agree(parts: Parts, stated: str, data: st.DataObject) -> None:
    word = data.draw(st.sampled_from(SEX_WORDS[stated]))
    check = check_nik(parts.text, today=TODAY, stated_sex=word)
    assert check.ok
    assert check.warnings == (() if stated == parts.sex else ("nik_sex_mismatch",))


@pytest.mark.parametrize("word", ["", "?", "X", "unknown", "-"])
def test_an_unreadable_stated_sex_is_ignored(word: str) -> None:
    assert check_nik("1209186702038780", today=TODAY, stated_sex=word).warnings == ()


def test_warnings_come_together_in_order() -> None:
    check = check_nik(
        "1209186702038780",
        today=TODAY,
        known_districts=frozenset({"12.09.19"}),
        stated_birth_date=date(2003, 2, 28),
        stated_sex="L",
    )
    assert check.ok
    assert check.warnings == ("nik_region_unknown", "nik_birth_date_mismatch", "nik_sex_mismatch")


def test_no_warnings_for_a_refused_nik() -> None:
    check = check_nik("1209186702030000", today=TODAY, known_districts=(), stated_sex="L")
    assert (check.nik, check.errors, check.warnings) == (None, ("nik_serial_zero",), ())
    assert not check.ok


# --- the batch form --------------------------------------------------------------------------

RAW_VALUES = st.one_of(
    nik_parts().map(lambda parts: parts.text),
    st.text("0123456789", min_size=16, max_size=16),
    st.text(max_size=20),
    st.integers(),
    st.floats(),
    st.none(),
)


@given(st.lists(RAW_VALUES, max_size=30), st.sets(st.sampled_from(["12.09.18", "11.01.01"])))
def test_check_niks_is_check_nik_over_a_list(raws: list[object], known: set[str]) -> None:
    expected = [check_nik(raw, today=TODAY, known_districts=known) for raw in raws]
    assert check_niks(iter(raws), today=TODAY, known_districts=known) == expected
    assert check_niks(raws, today=TODAY) == [check_nik(raw, today=TODAY) for raw in raws]


def test_check_niks_leaves_the_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    check_niks(["1209186702038780"], today=TODAY)
    assert gc.isenabled()
    gc.disable()
    try:
        check_niks(["1209186702038780"], today=TODAY)
        assert not gc.isenabled()
    finally:
        gc.enable()


# --- helpers ---------------------------------------------------------------------------------


def test_province_codes() -> None:
    assert len(PROVINCE_CODES) == 38
    assert {"11", "21", "31", "36", "51", "65", "76", "82", "91", "96"} <= PROVINCE_CODES
    assert not {"00", "10", "20", "22", "37", "54", "66", "77", "83", "97", "99"} & PROVINCE_CODES


@given(st.integers(10**15, 10**16 - 1))
def test_format_mask_and_to_int(value: int) -> None:
    text = format_nik(value)
    assert len(text) == 16 and int(text) == value
    assert nik_to_int(text) == value
    assert nik_to_int(f" {text} ") == value
    masked = mask_nik(value)
    assert masked == mask_nik(text) == text[:6] + "*" * 8 + text[14:]


def test_helper_examples() -> None:
    assert mask_nik(1209186702038780) == "120918********80"
    assert mask_nik("1209186702038780") == "120918********80"
    assert mask_nik("12345") == "*****"
    assert format_nik(1209186702038780) == "1209186702038780"
    assert format_nik(42) == "0000000000000042"
    for value in (-1, 10**16):
        with pytest.raises(ValueError):
            format_nik(value)
    for text in ("", "120918670203878", "12091867020387800", "1209186702O38780", "١" * 16):
        assert nik_to_int(text) is None


# --- the sample roster -----------------------------------------------------------------------

# Rows of tests/data/roster-kpps-asahan-sample.csv: NIK, TGL LAHIR, JENIS KELAMIN, KODE WILAYAH.
ASAHAN = """
1209186702038780;27-02-2003;P;12.09.18.2002
1209144802801487;08-02-1980;P;12.09.14.2001
1209151310700813;13-10-1970;L;12.09.15.2022
1209190210023375;02-10-2002;L;12.09.19.1002
1209266303914000;23-03-1991;P;12.09.26.2004
1209096610715141;26-10-1971;P;12.09.09.2008
1209134102039287;01-02-2003;P;12.09.13.2003
1209231209932402;12-09-1993;L;12.09.23.2003
1209126409002282;24-09-2000;P;12.09.12.2002
1209215212010320;12-12-2001;P;12.09.21.2004
1209164107044910;01-07-2004;P;12.09.16.2002
1209252412027764;24-12-2002;L;12.09.25.2001
"""
SAMPLES = [line.split(";") for line in ASAHAN.split()]


@pytest.mark.parametrize(("nik", "born", "sex", "village"), SAMPLES)
def test_the_asahan_sample(nik: str, born: str, sex: str, village: str) -> None:
    day, month, year = (int(part) for part in born.split("-"))
    check = check_nik(
        nik,
        today=TODAY,
        known_districts={village[:8]},
        stated_birth_date=date(year, month, day),
        stated_sex=sex,
    )
    assert check == NikCheck(check.nik, (), ())
    assert check.nik is not None
    assert (check.nik.district, check.nik.birth_date, check.nik.sex) == (
        village[:8],
        date(year, month, day),
        sex,
    )


def test_the_first_asahan_officer_in_full() -> None:
    assert check_nik("1209186702038780", today=TODAY).nik == ParsedNik(
        value=1209186702038780,
        province="12",
        regency="12.09",
        district="12.09.18",
        birth_date=date(2003, 2, 27),
        sex="P",
        serial="8780",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1209186101929704, "1209186101929704"),
        (1209186101929704.0, "1209186101929704"),  # exact: below 2**53
        (1209186101929700, None),  # what Excel keeps of 1209186101929704
        (1.20918610192970e15, None),
        (9101186101929705, "9101186101929705"),  # an int stays exact above 2**53
        (9101186101929704.0, None),  # a float above 2**53 may have been rounded
        (1209186101929704.5, None),
        (120918610192970, None),
        (True, None),
        (-1209186101929704, None),
    ],
)
def test_nik_of_number(value: float, expected: str | None) -> None:
    assert nik_of_number(value) == expected
