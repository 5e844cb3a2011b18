"""Every rejection code on its own row, NIK warnings kept, and the errors as JSON and CSV."""

import csv
import io
from datetime import date

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import encode_cursor
from tests.rosters.helpers import (
    BORN,
    CSV,
    XLSX,
    codes_by_row,
    csv_body,
    errors_url,
    officer,
    officer_nik,
    parties,
    problem_rows,
    push,
    registrations,
)
from tests.seed import make_nik


def nik(serial: int) -> str:
    return str(officer_nik(serial))


# (row as overrides of a valid officer, the codes it must get); the header is row 1.
CASES: list[tuple[dict[str, object], list[str]]] = [
    ({"nik": "12345"}, ["nik_format"]),
    ({"nik": "1.20918E+15"}, ["nik_stored_as_number"]),
    ({"nik": "99" + nik(3)[2:]}, ["nik_province"]),
    ({"nik": "1200" + nik(4)[4:]}, ["nik_region_zero"]),
    ({"nik": nik(5)[:6] + "321390" + "0005"}, ["nik_birth_date"]),
    ({"nik": nik(6)[:12] + "0000"}, ["nik_serial_zero"]),
    ({"full_name": ""}, ["name_missing"]),
    ({"birth_date": ""}, ["birth_date_missing"]),
    ({"birth_date": "31-02-1990"}, ["birth_date_invalid"]),
    ({"sex": "X"}, ["sex_invalid"]),
    ({"role": "Bupati"}, ["role_unknown"]),
    ({"role": "PPS"}, ["role_not_in_agreement"]),
    ({"region_code": "12.09.99.9999"}, ["region_unknown"]),
    ({"region_code": "81.71.02.1015"}, ["region_outside_agreement"]),
    ({"region_code": ""}, ["region_missing"]),
    ({"tps": ""}, ["tps_missing"]),
    ({"coverage_start": "32-13-2024"}, ["period_invalid"]),
    ({"coverage_start": "2024-12-20", "coverage_end": "2024-12-10"}, ["period_invalid"]),
    ({"coverage_end": "2025-01-15"}, ["period_outside_cohort"]),
    ({"born": date(2010, 1, 1)}, ["age_below_minimum"]),
    ({"born": date(1960, 1, 1)}, ["age_above_maximum"]),
    ({"position": "bendahara"}, ["position_invalid"]),
    ({"replaces_nik": nik(99)}, ["replaces_nik_not_found"]),
    ({"replaces_nik": "123"}, ["replaces_nik_not_found"]),
]


async def test_every_rejection_code(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    # This election's own KPPS limit for the test (rolled back with it): at most 55.
    await session.execute(
        text("INSERT INTO role_age_limits VALUES ('pilkada-2024', 'KPPS', 17, 55)")
    )
    rows = []
    for serial, (overrides, _) in enumerate(CASES, start=10):
        fields = dict(overrides)
        born = fields.pop("born", BORN)
        rows.append(officer(serial, born=born, **fields))
    duplicate = officer(200)
    rows += [duplicate, officer(201), dict(duplicate, full_name="Nama Lain")]
    response = await push(client, p, csv_body(rows), CSV)
    assert response.status_code == 201, response.text
    batch = response.json()
    last = len(CASES) + 1
    assert batch["counts"]["rejected"] == len(CASES) + 2
    assert batch["counts"]["created"] == 1

    page = await client.get(errors_url(batch["id"]), headers=p.counterpart, params={"limit": 1000})
    assert page.status_code == 200
    problems = page.json()["items"]
    found = codes_by_row(problems)
    for row_number, (_, codes) in enumerate(CASES, start=2):
        assert found[row_number] == codes, (row_number, codes, found.get(row_number))
    first, second = last + 1, last + 3
    assert found[first] == found[second] == ["duplicate_nik_in_file"]
    by_row = {x["row_number"]: x for x in problems}
    assert by_row[first]["messages"] == [f"NIK yang sama juga ada di baris {second}"]
    assert by_row[second]["messages"] == [f"NIK yang sama juga ada di baris {first}"]
    assert all(x["outcome"] == "rejected" for x in problems)
    stored_as_number = by_row[3]
    assert stored_as_number["nik"] == "1.20918E+15"
    assert "Teks" in stored_as_number["messages"][0]
    assert stored_as_number["original"][0] == "1.20918E+15"
    assert [r["nik"] for r in await registrations(session, p.agreement.id)] == [
        int(officer(201)["nik"])
    ]


async def test_several_codes_on_one_row(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    row = officer(1, full_name="", birth_date="", tps="", role="Bupati")
    response = await push(client, p, csv_body([row]), CSV)
    (problem,) = await problem_rows(client, p, response.json()["id"])
    assert problem["codes"] == ["name_missing", "birth_date_missing", "role_unknown"]
    assert len(problem["messages"]) == 3


async def test_nik_warnings_are_kept_with_the_registration(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    unknown_district = str(make_nik("12.09.99", BORN, "L", 1))
    rows = [
        officer(2, birth_date="1990-05-18"),  # the NIK says the 17th
        officer(3, sex="P"),  # the NIK says a man
        officer(4, nik=unknown_district),  # a district not in today's table
    ]
    response = await push(client, p, csv_body(rows), CSV)
    assert response.json()["counts"]["created"] == 3
    warnings = {r["nik"]: r["nik_warnings"] for r in await registrations(session, p.agreement.id)}
    assert warnings == {
        int(rows[0]["nik"]): ["nik_birth_date_mismatch"],
        int(rows[1]["nik"]): ["nik_sex_mismatch"],
        int(unknown_district): ["nik_region_unknown"],
    }


async def test_errors_as_csv_for_excel(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    body = (
        "\ufeffDAFTAR PETUGAS KPPS;;;\r\n"
        "\r\n"
        "NIK;NAMA LENGKAP;TGL LAHIR;JABATAN;KODE WILAYAH;TPS;KETERANGAN\r\n"
        f"{nik(1)};Ani;17-05-1990;Anggota KPPS;12.09.18.2002;019;baru\r\n"
        f"{nik(2)};;17-05-1990;Anggota KPPS;12.09.18.2002;019;nama; hilang\r\n"
    ).encode()
    # The last cell of row 5 holds the delimiter: quoted in the output, as Excel expects.
    body = body.replace(b"nama; hilang", b'"nama; hilang"')
    response = await push(client, p, body, CSV)
    assert response.status_code == 201, response.text
    batch_id = response.json()["id"]
    exported = await client.get(
        errors_url(batch_id),
        headers={**p.counterpart, "Accept": "text/csv"},
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    raw = exported.content
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert lines[0] == [
        "NIK",
        "NAMA LENGKAP",
        "TGL LAHIR",
        "JABATAN",
        "KODE WILAYAH",
        "TPS",
        "KETERANGAN",
        "baris",
        "hasil",
        "kode",
        "alasan",
        "peringatan",
    ]
    # The NIK and the TPS as formulas whose value is their text: what Excel keeps as text.
    assert lines[1] == [
        f'="{nik(2)}"',
        "",
        "17-05-1990",
        "Anggota KPPS",
        "12.09.18.2002",
        '="019"',
        "nama; hilang",
        "5",
        "ditolak",
        "name_missing",
        "Kolom NAMA LENGKAP: Nama kosong",
        "",
    ]
    assert len(lines) == 2
    assert b"\r\n" in raw and b'"nama; hilang"' in raw


async def test_errors_csv_of_a_comma_upload_uses_commas(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    body = csv_body([officer(1, tps="")], delimiter=",")
    batch_id = (await push(client, p, body, CSV)).json()["id"]
    exported = await client.get(
        errors_url(batch_id), headers={**p.counterpart, "Accept": "text/csv"}
    )
    header, row = exported.content.decode("utf-8-sig").splitlines()
    assert header.endswith(",baris,hasil,kode,alasan,peringatan")
    assert row.split(",")[-4:-2] == ["ditolak", "tps_missing"]


async def test_errors_pages(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    rows = [officer(n, full_name="") for n in range(1, 6)]
    batch_id = (await push(client, p, csv_body(rows), CSV)).json()["id"]
    url = errors_url(batch_id)
    first = (await client.get(url, headers=p.counterpart, params={"limit": 2})).json()
    assert [x["row_number"] for x in first["items"]] == [2, 3]
    second = (
        await client.get(
            url, headers=p.counterpart, params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [x["row_number"] for x in second["items"]] == [4, 5]
    bad = await client.get(url, headers=p.counterpart, params={"cursor": "nonsense"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor"
    # Digits that int() refuses, and a row number past bigint: both cursors no page gave.
    for forged in (encode_cursor(["\u00b2"]), encode_cursor([str(2**63)])):
        bad = await client.get(url, headers=p.counterpart, params={"cursor": forged})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_cursor", forged


async def test_a_workbook_nik_stored_as_a_number_is_rejected(
    client: httpx.AsyncClient, session: AsyncSession
):
    from openpyxl import Workbook

    p = await parties(client, session)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["NIK", "NAMA", "TGL LAHIR", "JABATAN", "KODE WILAYAH", "TPS"])
    # Ends in 0, as every 16-digit number Excel keeps (15 significant digits) does.
    sheet.append([int(nik(10)), "Ani", date(1990, 5, 17), "Anggota KPPS", "12.09.18.2002", "019"])
    sheet.append([nik(2), "Budi", date(1990, 5, 17), "Anggota KPPS", "12.09.18.2002", "019"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = await push(client, p, buffer.getvalue(), XLSX)
    assert response.status_code == 201, response.text
    assert (response.json()["counts"]["created"], response.json()["counts"]["rejected"]) == (1, 1)
    (problem,) = await problem_rows(client, p, response.json()["id"])
    assert (problem["row_number"], problem["codes"]) == (2, ["nik_stored_as_number"])
    # An XLSX upload's errors come back ;-separated, as Excel in Indonesia reads them.
    exported = await client.get(
        errors_url(response.json()["id"]),
        headers={**p.counterpart, "Accept": "text/csv"},
    )
    header = exported.content.decode("utf-8-sig").splitlines()[0]
    assert header.endswith(";baris;hasil;kode;alasan;peringatan")
