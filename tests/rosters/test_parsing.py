"""Tests of the roster file parser: formats, headers, cell values, dates, JABATAN, errors."""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from app.rosters.columns import FIELDS
from app.rosters.parsing import (
    RawRow,
    RoleVocabulary,
    RosterFileError,
    RosterFormat,
    RosterReader,
    detect_format,
)
from app.rosters.parsing.cells import normalize_sex, parse_date
from tests.rosters.helpers import KPPS_CSV, PTPS_XLSX

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADER = "NIK;NAMA LENGKAP;TGL LAHIR;JENIS KELAMIN;JABATAN;KODE WILAYAH;TPS"
ANI = "1209186702038780;Ani Setiawan;27-02-2003;P;Ketua KPPS;12.09.18.2002;019"
LINA = "1209144802801487;Lina Tanjung;08-02-1980;P;Anggota KPPS;12.09.14.2001;002"


def read_rows(
    data: bytes, roles: RoleVocabulary, fmt: RosterFormat = RosterFormat.CSV, **kw: str
) -> list[RawRow]:
    return list(RosterReader(io.BytesIO(data), fmt, roles, **kw))


def csv_bytes(*lines: str, newline: str = "\r\n", bom: bool = False) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines).encode() + newline.encode()


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def error_of(
    data: bytes, roles: RoleVocabulary, fmt: RosterFormat = RosterFormat.CSV, **kw: str
) -> RosterFileError:
    with pytest.raises(RosterFileError) as caught:
        read_rows(data, roles, fmt, **kw)
    return caught.value


# ---------------------------------------------------------------------------------------------
# The sample files (tests/data)


@pytest.fixture
def kpps_csv() -> Path:
    return KPPS_CSV


@pytest.fixture
def ptps_xlsx() -> Path:
    return PTPS_XLSX


def test_kpps_sample_csv(roles: RoleVocabulary, kpps_csv: Path) -> None:
    with kpps_csv.open("rb") as f:
        reader = RosterReader(f, RosterFormat.CSV, roles)
        rows = list(reader)
        assert not f.closed

    assert reader.delimiter == ";"
    assert reader.columns[0] == "NIK"  # the BOM is not part of the first header
    assert reader.columns[5] == "JABATAN"
    assert reader.options == {}
    assert len(rows) == 60
    assert [r.row_number for r in rows] == list(range(2, 62))
    assert rows[0] == RawRow(
        row_number=2,
        values={
            "nik": "1209186702038780",
            "full_name": "Ani Setiawan",
            "birth_date": "27-02-2003",
            "sex": "P",
            "phone": "081878106871",
            "role": "KPPS",
            "position": "ketua",
            "region_code": "12.09.18.2002",
            "tps": "019",
            "coverage_start": "01-11-2024",
            "coverage_end": "31-12-2024",
        },
        original=[
            "1209186702038780",
            "Ani Setiawan",
            "27-02-2003",
            "P",
            "081878106871",
            "Ketua KPPS",
            "12.09.18.2002",
            "019",
            "01-11-2024",
            "31-12-2024",
        ],
        nik_is_number=False,
    )
    assert rows[1].values["position"] == "anggota"
    assert rows[-1].row_number == 61
    assert rows[-1].values["nik"] == "1209201902931480"
    assert rows[-1].values["full_name"] == "Fajar Manurung"
    assert {r.values["role"] for r in rows} == {"KPPS"}
    assert {r.values["position"] for r in rows} == {"ketua", "anggota"}
    assert not any(r.nik_is_number for r in rows)
    assert all(len(r.values["nik"]) == 16 and len(r.original) == 10 for r in rows)


def test_ptps_sample_xlsx(roles: RoleVocabulary, ptps_xlsx: Path) -> None:
    for sheet in (None, "Daftar Petugas", "daftar petugas"):
        with ptps_xlsx.open("rb") as f:
            reader = RosterReader(f, RosterFormat.XLSX, roles, sheet=sheet)
            rows = list(reader)
        assert len(rows) == 40
    assert reader.columns[:3] == ["NIK", "NAMA LENGKAP", "TGL LAHIR"]
    assert [r.row_number for r in rows] == list(range(2, 42))
    assert rows[0].values == {
        "nik": "8171022304980718",
        "full_name": "Dedi Simanjuntak",
        "birth_date": "1998-04-23",
        "sex": "L",
        "phone": "087538104874",
        "role": "PTPS",
        "position": "anggota",
        "region_code": "81.71.02.1015",
        "tps": "008",
        "coverage_start": "2024-11-01",
        "coverage_end": "2024-12-31",
    }
    assert rows[0].original[2] == "1998-04-23"
    assert rows[0].original[5] == "Anggota PTPS"
    assert rows[-1].row_number == 41
    assert rows[-1].values["nik"] == "8171050609764944"
    assert {r.values["role"] for r in rows} == {"PTPS"}
    assert not any(r.nik_is_number for r in rows)


# ---------------------------------------------------------------------------------------------
# CSV


def test_comma_csv_without_bom_with_lf(roles: RoleVocabulary) -> None:
    data = csv_bytes(HEADER.replace(";", ","), ANI.replace(";", ","), newline="\n")
    reader = RosterReader(io.BytesIO(data), RosterFormat.CSV, roles)
    rows = list(reader)
    assert reader.delimiter == ","
    assert len(rows) == 1
    assert rows[0].row_number == 2
    assert rows[0].values["full_name"] == "Ani Setiawan"
    assert rows[0].values["tps"] == "019"
    assert rows[0].original[-1] == "019"


def test_title_block_above_header(roles: RoleVocabulary) -> None:
    data = csv_bytes(
        "DAFTAR PETUGAS KPPS KABUPATEN ASAHAN;;;;;;",
        "PEMILIHAN SERENTAK 2024",
        "",
        HEADER,
        ANI,
        LINA,
        bom=True,
    )
    reader = RosterReader(io.BytesIO(data), RosterFormat.CSV, roles)
    rows = list(reader)
    assert reader.columns[0] == "NIK"
    assert reader.delimiter == ";"
    assert [r.row_number for r in rows] == [5, 6]
    assert rows[1].values["full_name"] == "Lina Tanjung"


def test_blank_rows_and_extra_columns(roles: RoleVocabulary) -> None:
    data = csv_bytes(
        "NO;NIK;NAMA;JABATAN;KETERANGAN",
        "1;1209186702038780; Ani Setiawan ;Ketua KPPS;baru",
        ";;;;",
        "",
        "  ; ;;;",
        "2;1209144802801487;Lina Tanjung;Anggota KPPS;",
        "3;1209151310700813;Joko Nasution",
    )
    rows = read_rows(data, roles)
    assert [r.row_number for r in rows] == [2, 6, 7]
    assert rows[0].values == {
        "nik": "1209186702038780",
        "full_name": "Ani Setiawan",
        "role": "KPPS",
        "position": "ketua",
    }
    assert rows[0].original == ["1", "1209186702038780", " Ani Setiawan ", "Ketua KPPS", "baru"]
    assert rows[2].values == {"nik": "1209151310700813", "full_name": "Joko Nasution"}
    assert rows[2].original == ["3", "1209151310700813", "Joko Nasution"]
    assert all(set(r.values) <= set(FIELDS) for r in rows)


def test_english_headers(roles: RoleVocabulary) -> None:
    header = (
        "NIK,Full Name,Date of Birth,Sex,Phone,Role,Position,Region Code,District,Village,TPS,"
        "Coverage Start,Coverage End,Replaces NIK"
    )
    row = (
        "1209186702038780,Ani Setiawan,2003-02-27,F,081878106871,kpps,Ketua,12.09.18.2002,"
        "Kisaran Barat,Sidodadi,19,2024-11-01,2024-12-31,1209144802801487"
    )
    (parsed,) = read_rows(csv_bytes(header, row), roles)
    assert parsed.values == {
        "nik": "1209186702038780",
        "full_name": "Ani Setiawan",
        "birth_date": "2003-02-27",
        "sex": "F",
        "phone": "081878106871",
        "role": "KPPS",
        "position": "ketua",
        "region_code": "12.09.18.2002",
        "district_name": "Kisaran Barat",
        "village_name": "Sidodadi",
        "tps": "19",
        "coverage_start": "2024-11-01",
        "coverage_end": "2024-12-31",
        "replaces_nik": "1209144802801487",
    }


def test_header_variants_with_punctuation(roles: RoleVocabulary) -> None:
    header = "No.;N.I.K;Nama Lengkap;Tgl. Lahir;L/P;No. HP;Kecamatan;Desa/Kelurahan;No. TPS;T.M.T"
    row = "1;1209186702038780;ANI;27/02/2003;P;0818;Kisaran;Sidodadi;7;01/11/2024"
    (parsed,) = read_rows(csv_bytes(header, row), roles)
    assert parsed.values == {
        "nik": "1209186702038780",
        "full_name": "ANI",
        "birth_date": "27/02/2003",
        "sex": "P",
        "phone": "0818",
        "district_name": "Kisaran",
        "village_name": "Sidodadi",
        "tps": "7",
        "coverage_start": "01/11/2024",
    }


def test_quoted_field_with_newline_and_delimiter(roles: RoleVocabulary) -> None:
    data = csv_bytes(
        "NIK;NAMA;ALAMAT;TPS",
        '1209186702038780;"Setiawan; Ani";"Jl. Merdeka 5\r\nKisaran";019',
        "1209144802801487;Lina Tanjung;-;002",
    )
    rows = read_rows(data, roles)
    assert rows[0].values["full_name"] == "Setiawan; Ani"
    assert rows[0].original[2] == "Jl. Merdeka 5\r\nKisaran"
    # Excel shows a quoted line break inside one row, so the next officer is row 3.
    assert [r.row_number for r in rows] == [2, 3]


@pytest.mark.parametrize("nik", ["1.20919E+15", "1,20919E+15", "1209186702038780.0", "1.2E15"])
def test_csv_nik_in_scientific_notation(roles: RoleVocabulary, nik: str) -> None:
    (row,) = read_rows(csv_bytes("NIK;NAMA", f"{nik};Ani"), roles)
    assert row.nik_is_number
    assert row.values["nik"] == nik


@pytest.mark.parametrize(
    "nik", ["1209186702038780", "12.09.18.2002", "abc", "E", "120918670203878"]
)
def test_csv_nik_that_is_not_a_number(roles: RoleVocabulary, nik: str) -> None:
    (row,) = read_rows(csv_bytes("NIK;NAMA", f"{nik};Ani"), roles)
    assert not row.nik_is_number


def test_csv_header_and_delimiter_sniffed_outside_quotes(roles: RoleVocabulary) -> None:
    data = csv_bytes('"NIK";"NAMA, LENGKAP";"JABATAN"', '1209186702038780;"Ani, S.Pd";PTPS')
    reader = RosterReader(io.BytesIO(data), RosterFormat.CSV, roles)
    rows = list(reader)
    assert reader.delimiter == ";"
    assert reader.columns == ["NIK", "NAMA, LENGKAP", "JABATAN"]
    assert rows[0].values["full_name"] == "Ani, S.Pd"
    assert rows[0].values["role"] == "PTPS"


def test_csv_delimiter_falls_back_when_the_count_misleads(roles: RoleVocabulary) -> None:
    data = csv_bytes("NIK;NAMA;CATATAN (KTP, KK, NPWP, BPJS)", "1209186702038780;Ani, S.Pd;ada")
    reader = RosterReader(io.BytesIO(data), RosterFormat.CSV, roles)
    (row,) = list(reader)
    assert reader.delimiter == ";"
    assert row.values == {"nik": "1209186702038780", "full_name": "Ani, S.Pd"}


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def test_csv_is_read_in_chunks(roles: RoleVocabulary) -> None:
    lines = [f"{1209186702038000 + i};Petugas {i};Anggota KPPS" for i in range(100_000)]
    source = CountingReader(csv_bytes("NIK;NAMA;JABATAN", *lines))
    rows = iter(RosterReader(source, RosterFormat.CSV, roles))
    assert next(rows).row_number == 2
    assert source.tell() < 100_000
    assert sum(1 for _ in rows) == 99_999
    assert source.largest_read <= 65_536


def test_dropping_an_opened_reader_leaves_the_file_open(roles: RoleVocabulary) -> None:
    source = io.BytesIO(csv_bytes(HEADER, ANI))
    reader = RosterReader(source, RosterFormat.CSV, roles)
    reader.open()
    reader.close()
    del reader
    assert not source.closed
    source.seek(0)
    assert len(read_rows(source.read(), roles)) == 1


def test_csv_from_spooled_temporary_file_leaves_it_open(roles: RoleVocabulary) -> None:
    spooled = tempfile.SpooledTemporaryFile(max_size=64)  # noqa: SIM115
    spooled.write(csv_bytes(HEADER, ANI, LINA, bom=True))
    spooled.seek(0)
    rows = list(RosterReader(spooled, RosterFormat.CSV, roles))  # type: ignore[arg-type]
    assert len(rows) == 2
    assert not spooled.closed
    spooled.close()


@given(
    st.lists(
        st.lists(
            st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8),
            min_size=2,
            max_size=2,
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([";", ","]),
)
def test_csv_cells_round_trip(
    roles: RoleVocabulary, cells: list[list[str]], delimiter: str
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(["NIK", "NAMA"])
    writer.writerows(cells)
    rows = read_rows_or_empty(out.getvalue().encode(), roles)
    kept = [c for c in cells if any(v.strip() for v in c)]
    assert [r.original for r in rows] == kept
    for row, (nik, name) in zip(rows, kept, strict=True):
        assert row.values.get("nik", "") == nik.strip()
        assert row.values.get("full_name", "") == name.strip()


def read_rows_or_empty(data: bytes, roles: RoleVocabulary) -> list[RawRow]:
    try:
        return read_rows(data, roles)
    except RosterFileError as exc:
        assert exc.code == "roster_empty"
        return []


# ---------------------------------------------------------------------------------------------
# XLSX


def test_xlsx_cell_values(roles: RoleVocabulary) -> None:
    data = xlsx_bytes(
        {
            "Sheet1": [
                ["DAFTAR PETUGAS PTPS KOTA AMBON"],
                [],
                ["NIK", "NAMA", "TGL LAHIR", "NO HP", "TPS", "JABATAN", "CATATAN"],
                [8171022304980718, "Dedi", datetime(1998, 4, 23), 87538104874, 19.0, "PTPS", 1.5],
                [8.17104160777939e15, "Irfan", date(1977, 7, 16), "087341431504", "019", None],
                [None, None, None],
                ["8171015308801864", "Ayu", "13-08-1980", None, 3, "Satpam", None],
            ]
        }
    )
    reader = RosterReader(io.BytesIO(data), RosterFormat.XLSX, roles)
    rows = list(reader)
    assert reader.columns == ["NIK", "NAMA", "TGL LAHIR", "NO HP", "TPS", "JABATAN", "CATATAN"]
    assert [r.row_number for r in rows] == [4, 5, 7]
    # An int of 16 digits is exact (taken); 8.17104160777939e15 lost its last digit.
    assert [r.nik_is_number for r in rows] == [False, True, False]
    assert rows[0].values == {
        "nik": "8171022304980718",
        "full_name": "Dedi",
        "birth_date": "1998-04-23",
        "phone": "87538104874",
        "tps": "19",
        "role": "PTPS",
    }
    assert rows[0].original[-1] == "1.5"
    assert rows[1].values["nik"] == "8171041607779390"
    assert rows[1].values["birth_date"] == "1977-07-16"
    assert rows[1].values["tps"] == "019"
    assert rows[2].values["role"] == "TENAGA_PENDUKUNG"
    assert rows[2].values["position"] == "staf"


def test_xlsx_sheet_selection(roles: RoleVocabulary) -> None:
    data = xlsx_bytes(
        {
            "Petunjuk": [["Isi NIK sebagai teks"]],
            "Daftar Petugas": [["NIK", "NAMA"], ["8171022304980718", "Dedi"]],
        }
    )
    (row,) = read_rows(data, roles, RosterFormat.XLSX, sheet="Daftar Petugas")
    assert row.values == {"nik": "8171022304980718", "full_name": "Dedi"}
    (row,) = read_rows(data, roles, RosterFormat.XLSX, sheet="DAFTAR PETUGAS")
    assert row.row_number == 2
    # The first sheet is the default; here it holds no header.
    assert error_of(data, roles, RosterFormat.XLSX).code == "roster_header_not_found"
    missing = error_of(data, roles, RosterFormat.XLSX, sheet="Rekap")
    assert missing.code == "roster_sheet_not_found"
    assert "Rekap" in missing.detail and "Daftar Petugas" in missing.detail


# ---------------------------------------------------------------------------------------------
# JSON and NDJSON


def test_json_object_body_with_options(roles: RoleVocabulary) -> None:
    body = {
        "mode": "replace",
        "atomic": True,
        "officers": [
            {"nik": "1209186702038780", "full_name": "Ani", "role": "Ketua KPPS", "tps": "019"},
            {"nik": 1209144802801487, "nama": "Lina", "jabatan": "Anggota KPPS", "tps": 2},
            {"nik": 1.209151310700813e15, "full_name": "Joko", "role": "KPPS", "extra": None},
        ],
    }
    reader = RosterReader(io.BytesIO(orjson.dumps(body)), RosterFormat.JSON, roles)
    rows = list(reader)
    assert reader.options == {"mode": "replace", "atomic": True}
    assert reader.columns == ["nik", "full_name", "role", "tps", "nama", "jabatan", "extra"]
    assert [r.row_number for r in rows] == [1, 2, 3]
    assert rows[0].values == {
        "nik": "1209186702038780",
        "full_name": "Ani",
        "role": "KPPS",
        "position": "ketua",
        "tps": "019",
    }
    assert rows[1].values == {
        "nik": "1209144802801487",
        "full_name": "Lina",
        "role": "KPPS",
        "position": "anggota",
        "tps": "2",
    }
    assert rows[1].original == ["1209144802801487", "", "", "2", "Lina", "Anggota KPPS", ""]
    assert [r.nik_is_number for r in rows] == [False, False, True]
    assert rows[2].values["nik"] == "1209151310700813.0"


def test_json_bare_list(roles: RoleVocabulary) -> None:
    body = b'\xef\xbb\xbf[{"nik": "1.2091E+15", "full_name": "Ani"}]'
    reader = RosterReader(io.BytesIO(body), RosterFormat.JSON, roles)
    (row,) = list(reader)
    assert reader.options == {}
    assert row.nik_is_number
    assert row.values == {"nik": "1.2091E+15", "full_name": "Ani"}


def test_ndjson_lines(roles: RoleVocabulary) -> None:
    data = (
        b'{"nik": "1209186702038780", "full_name": "Ani", "role": "PKD"}\r\n'
        b"\n"
        b'{"nik": "1209144802801487", "full_name": "Lina", "phone": "0812"}\n'
    )
    reader = RosterReader(io.BytesIO(data), RosterFormat.NDJSON, roles)
    rows = list(reader)
    assert reader.options == {}
    assert reader.columns == ["nik", "full_name", "role", "phone"]
    assert [r.row_number for r in rows] == [1, 2]
    assert rows[0].values["role"] == "PKD"
    assert rows[1].original == ["1209144802801487", "Lina", "", "0812"]


def test_ndjson_malformed_line_names_it(roles: RoleVocabulary) -> None:
    data = b'{"nik": "1"}\n\n{"nik": \n'
    reader = RosterReader(io.BytesIO(data), RosterFormat.NDJSON, roles)
    rows = iter(reader)
    assert next(rows).values == {"nik": "1"}
    with pytest.raises(RosterFileError) as caught:
        next(rows)
    assert caught.value.code == "roster_malformed"
    assert "Line 3" in caught.value.detail


# ---------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("data", "fmt", "code"),
    [
        (b"NIK;NAMA\r\n12\xff\xfe;Ani\r\n", RosterFormat.CSV, "roster_malformed"),
        ("NIK;NAMA\r\n1;Ani".encode("utf-16"), RosterFormat.CSV, "roster_malformed"),
        (b"", RosterFormat.CSV, "roster_empty"),
        (b"\xef\xbb\xbf\r\n;;;\r\n", RosterFormat.CSV, "roster_empty"),
        (b"NIK;NAMA\r\n\r\n", RosterFormat.CSV, "roster_empty"),
        (b"NOMOR;NAMA\r\n1;Ani\r\n", RosterFormat.CSV, "roster_header_not_found"),
        (b'{"officers": [', RosterFormat.JSON, "roster_malformed"),
        (b'{"mode": "upsert"}', RosterFormat.JSON, "roster_malformed"),
        (b'[{"nik": "1"}, 7]', RosterFormat.JSON, "roster_malformed"),
        (b'{"officers": []}', RosterFormat.JSON, "roster_empty"),
        (b"[1, 2]\n", RosterFormat.NDJSON, "roster_malformed"),
        (b"\n\n", RosterFormat.NDJSON, "roster_empty"),
        (b"PK\x03\x04 not really a zip", RosterFormat.XLSX, "roster_malformed"),
        (b"NIK;NAMA\r\n", RosterFormat.XLSX, "roster_malformed"),
        (
            xlsx_bytes({"S": [["NIK", "NAMA"], ["1", "Ani"]]})[:-200],
            RosterFormat.XLSX,
            "roster_malformed",
        ),
    ],
)
def test_malformed_inputs(roles: RoleVocabulary, data: bytes, fmt: RosterFormat, code: str) -> None:
    error = error_of(data, roles, fmt)
    assert error.code == code
    assert error.detail == str(error)


def test_header_must_be_within_the_first_20_non_blank_rows(roles: RoleVocabulary) -> None:
    title = [f"baris judul {i}" for i in range(20)]
    assert error_of(csv_bytes(*title, "", HEADER, ANI), roles).code == "roster_header_not_found"
    assert len(read_rows(csv_bytes(*title[:19], "", "", HEADER, ANI), roles)) == 1


def test_xlsx_errors(roles: RoleVocabulary) -> None:
    assert error_of(xlsx_bytes({"S": [[]]}), roles, RosterFormat.XLSX).code == "roster_empty"
    header_only = xlsx_bytes({"S": [["NIK", "NAMA"]]})
    assert error_of(header_only, roles, RosterFormat.XLSX).code == "roster_empty"
    no_name = xlsx_bytes({"S": [["NIK", "TPS"], ["1", "2"]]})
    assert error_of(no_name, roles, RosterFormat.XLSX).code == "roster_header_not_found"


def test_xlsx_with_a_damaged_sheet_is_malformed(roles: RoleVocabulary) -> None:
    good = xlsx_bytes({"S": [["NIK", "NAMA"], ["8171022304980718", "Dedi"]]})
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            content = src.read(item)
            if item.filename.startswith("xl/worksheets/"):
                content = content[: len(content) // 2]
            dst.writestr(item, content)
    assert error_of(damaged.getvalue(), roles, RosterFormat.XLSX).code == "roster_malformed"


def test_a_header_without_a_name_column_is_not_a_header(roles: RoleVocabulary) -> None:
    error = error_of(csv_bytes("NIK;TPS", "1209186702038780;019"), roles)
    assert error.code == "roster_header_not_found"
    assert "NIK" in error.detail


# ---------------------------------------------------------------------------------------------
# Dates, sex, JABATAN, formats, batches


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("27-02-2003", date(2003, 2, 27)),
        ("27/02/2003", date(2003, 2, 27)),
        ("27.02.2003", date(2003, 2, 27)),
        ("7-2-2003", date(2003, 2, 7)),
        ("7/12/2003", date(2003, 12, 7)),
        ("17-2-2003", date(2003, 2, 17)),
        ("2003-02-27", date(2003, 2, 27)),
        ("2003-2-7", date(2003, 2, 7)),
        (" 2003-02-27 ", date(2003, 2, 27)),
        ("2024-11-01 00:00:00", date(2024, 11, 1)),
        ("2024-11-01T08:00:00", date(2024, 11, 1)),
        ("01-11-2024 07:30", date(2024, 11, 1)),
        ("29-02-2024", date(2024, 2, 29)),
        ("45597", date(2024, 11, 1)),
        ("45597.0", date(2024, 11, 1)),
        ("61", date(1900, 3, 1)),
        ("59", date(1900, 2, 28)),
        ("1", date(1900, 1, 1)),
        ("31-02-2024", None),
        ("00-01-2024", None),
        ("29-02-2023", None),
        ("01-13-2024", None),
        ("2024-02-30", None),
        ("60", None),
        ("0", None),
        ("20241101", None),
        ("", None),
        ("kemarin", None),
        ("1-1-24", None),
        ("+1-02-2024", None),
        ("٢٧-٠٢-٢٠٠٣", None),
        ("27-02/2003", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(2173, 10, 13)))
def test_parse_date_round_trips(day: date) -> None:
    assert parse_date(day.strftime("%d-%m-%Y")) == day
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(f"{day.day}-{day.month}-{day.year:04d}") == day
    assert parse_date(str((day - date(1899, 12, 30)).days)) == day


def test_excel_serial_base() -> None:
    assert parse_date("45597") == date(1899, 12, 30) + timedelta(days=45597)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("L", "L"),
        ("l", "L"),
        ("Laki-laki", "L"),
        ("LAKI LAKI", "L"),
        ("laki - laki", "L"),
        ("M", "L"),
        ("Male", "L"),
        ("P", "P"),
        ("Perempuan", "P"),
        ("PR", "P"),
        ("f", "P"),
        ("FEMALE", "P"),
        (" p ", "P"),
        ("X", None),
        ("", None),
    ],
)
def test_normalize_sex(text: str, expected: str | None) -> None:
    assert normalize_sex(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ketua KPPS", ("KPPS", "ketua")),
        ("Anggota KPPS", ("KPPS", "anggota")),
        ("anggota  kpps", ("KPPS", "anggota")),
        ("Anggota PPK", ("PPK", "anggota")),
        ("Ketua PPS", ("PPS", "ketua")),
        ("Sekretaris PPS", ("SEKRETARIAT_PPS", "sekretaris")),
        ("Sekretariat PPS", ("SEKRETARIAT_PPS", "staf")),
        ("Staf Sekretariat PPS", ("SEKRETARIAT_PPS", "staf")),
        ("Staf Sekretariat PPK", ("SEKRETARIAT_PPK", "staf")),
        ("Anggota PTPS", ("PTPS", "anggota")),
        ("PTPS", ("PTPS", None)),
        ("Pengawas TPS", ("PTPS", None)),
        ("Ketua Panwaslu Kecamatan", ("PANWASCAM", "ketua")),
        ("Panwaslu Kecamatan", ("PANWASCAM", None)),
        ("Panwascam", ("PANWASCAM", None)),
        ("Anggota Panwaslu Kecamatan", ("PANWASCAM", "anggota")),
        ("PKD", ("PKD", None)),
        ("Pengawas Kelurahan/Desa", ("PKD", None)),
        ("Pengawas Desa", ("PKD", None)),
        ("Linmas", ("KETERTIBAN_TPS", None)),
        ("Petugas Ketertiban TPS", ("KETERTIBAN_TPS", None)),
        ("Ketertiban TPS", ("KETERTIBAN_TPS", None)),
        ("Kepala Sekretariat Panwascam", ("KASEKCAM", None)),
        ("Kasek", ("KASEKCAM", None)),
        ("Satpam", ("TENAGA_PENDUKUNG", "staf")),
        ("Pramubakti", ("TENAGA_PENDUKUNG", "staf")),
        ("Tenaga Pendukung", ("TENAGA_PENDUKUNG", "staf")),
        ("Staf Sekretariat Panwascam", ("SEKRETARIAT_PANWASCAM", "staf")),
        ("Pantarlih", ("PANTARLIH", None)),
        ("KPPS", ("KPPS", None)),
        ("kpps", ("KPPS", None)),
        ("SEKRETARIAT_PPK", ("SEKRETARIAT_PPK", None)),
        ("Ketua", (None, None)),
        ("Bupati", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_jabatan(
    roles: RoleVocabulary, text: str, expected: tuple[str | None, str | None]
) -> None:
    assert roles.parse(text) == expected


def test_jabatan_combined_with_role_and_position_columns(roles: RoleVocabulary) -> None:
    rows = read_rows(
        csv_bytes(
            "NIK;NAMA;JABATAN;KEDUDUKAN",
            "1;Ani;Ketua KPPS;Anggota",
            "2;Budi;Ketua KPPS;",
            "3;Cici;Kepala Desa;",
        ),
        roles,
    )
    assert rows[0].values["role"] == "KPPS"
    assert rows[0].values["position"] == "anggota"  # the position column wins
    assert rows[1].values["position"] == "ketua"
    # Unknown text is passed on unchanged for the validator to report as role_unknown.
    assert rows[2].values["role"] == "Kepala Desa"
    assert "position" not in rows[2].values

    rows = read_rows(
        csv_bytes("NIK;NAMA;PERAN;JABATAN", "1;Ani;PPK;Ketua", "2;Budi;ppk;Bos"), roles
    )
    assert rows[0].values == {"nik": "1", "full_name": "Ani", "role": "PPK", "position": "ketua"}
    assert rows[1].values == {"nik": "2", "full_name": "Budi", "role": "PPK"}


@pytest.mark.parametrize(
    ("content_type", "first_bytes", "expected"),
    [
        ("application/json", b"", RosterFormat.JSON),
        ("application/json; charset=utf-8", b"", RosterFormat.JSON),
        ("application/x-ndjson", b"", RosterFormat.NDJSON),
        ("application/ndjson", b"", RosterFormat.NDJSON),
        ("text/csv", b"", RosterFormat.CSV),
        ("Text/CSV;charset=UTF-8", b"", RosterFormat.CSV),
        (XLSX_TYPE, b"", RosterFormat.XLSX),
        (None, b"PK\x03\x04\x14\x00", RosterFormat.XLSX),
        ("application/octet-stream", b"PK\x03\x04\x14\x00", RosterFormat.XLSX),
        (None, b'  [{"nik": "1"}]', RosterFormat.JSON),
        (None, b'{\n  "mode": "upsert",\n  "officers": []\n}', RosterFormat.JSON),
        (None, b'{"nik": "1"}\n{"nik": "2"}\n', RosterFormat.NDJSON),
        (None, b"\xef\xbb\xbfNIK;NAMA\r\n1;Ani\r\n", RosterFormat.CSV),
        ("text/plain", b"NIK,NAMA\n1,Ani\n", RosterFormat.CSV),
        (None, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", None),
        (None, b"", None),
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00", None),
    ],
)
def test_detect_format(
    content_type: str | None, first_bytes: bytes, expected: RosterFormat | None
) -> None:
    assert detect_format(content_type, first_bytes) == expected


def test_batches_sizes(roles: RoleVocabulary) -> None:
    lines = [f"{1209186702038000 + i};Petugas {i}" for i in range(25)]
    data = csv_bytes("NIK;NAMA", *lines)
    batches = list(RosterReader(io.BytesIO(data), RosterFormat.CSV, roles).batches(10))
    assert [len(b) for b in batches] == [10, 10, 5]
    assert [r.row_number for b in batches for r in b] == list(range(2, 27))
    assert len(list(RosterReader(io.BytesIO(data), RosterFormat.CSV, roles).batches())) == 1
    with pytest.raises(ValueError):
        next(RosterReader(io.BytesIO(data), RosterFormat.CSV, roles).batches(0))


def test_columns_are_known_after_open_and_reader_closes_early(roles: RoleVocabulary) -> None:
    data = csv_bytes(HEADER, ANI, LINA)
    source = io.BytesIO(data)
    with RosterReader(source, RosterFormat.CSV, roles) as reader:
        reader.open()
        assert reader.columns[:2] == ["NIK", "NAMA LENGKAP"]
        assert next(iter(reader)).row_number == 2
    assert not source.closed
