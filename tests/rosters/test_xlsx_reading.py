"""XLSX read once with calamine: the passes over one upload share the sheet, and the NIK
survey sees what the full reading sees."""

import io
from datetime import date

from openpyxl import Workbook

from app.rosters.parsing import RoleVocabulary, RosterFormat, RosterReader


def workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROWS: list[list[object]] = [
    ["DAFTAR PETUGAS"],
    [],
    [None, "NIK", "NAMA", "TGL LAHIR", "NIK DIGANTI"],
    [None, "1209186702038780", "Ani", date(2003, 2, 27), None],
    [None, 1209144802801487, "Lina", "08-02-1980", "1209186702038780"],
    [],
    [None, "  ", "Tanpa NIK", None, "  "],
]


def test_the_nik_survey_sees_what_the_reading_sees(roles: RoleVocabulary) -> None:
    data = io.BytesIO(workbook(ROWS))
    full = list(RosterReader(data, RosterFormat.XLSX, roles))
    survey = list(RosterReader(data, RosterFormat.XLSX, roles).nik_cells())
    assert survey == [(r.values.get("nik", ""), "replaces_nik" in r.values) for r in full]
    assert survey == [("1209186702038780", False), ("1209144802801487", True), ("", False)]
    assert [r.row_number for r in full] == [4, 5, 7]
    # The blank column A before the header counts in the original cells, as Excel shows them.
    assert full[0].original[:3] == ["", "1209186702038780", "Ani"]


def test_one_upload_is_read_once(roles: RoleVocabulary) -> None:
    data = io.BytesIO(workbook(ROWS))
    first = list(RosterReader(data, RosterFormat.XLSX, roles))
    # Later passes over the same upload use the sheet already read, not the bytes.
    data.seek(0)
    data.write(b"\0" * len(data.getvalue()))
    again = list(RosterReader(data, RosterFormat.XLSX, roles))
    assert [r.values for r in again] == [r.values for r in first]
