"""Values as Excel and hostile files leave them: numeric NIKs, NUL bytes, open quotes, and
messages that name the column and the closest accepted values."""

import io
from typing import Any

import httpx
from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from tests.rosters.helpers import (
    BORN,
    CSV,
    XLSX,
    codes_by_row,
    csv_body,
    json_body,
    officer,
    officer_nik,
    parties,
    problem_rows,
    push,
    registrations,
)

HEADER = ["NIK", "NAMA", "TGL LAHIR", "JABATAN", "KODE WILAYAH", "TPS"]


def workbook(*niks: object) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for n, nik in enumerate(niks, start=1):
        sheet.append([nik, f"Petugas {n}", BORN, "Anggota KPPS", "12.09.18.2002", "019"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_an_exact_numeric_nik_is_taken_and_one_excel_cut_is_not(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    exact = officer_nik(1234)  # ends in 4: all 16 digits are there
    as_float = officer_nik(5678)
    cut = officer_nik(1230)  # what Excel keeps of a 16-digit number ends in 0
    body = workbook(exact, float(as_float), cut, f"{officer_nik(7):.5E}", str(officer_nik(9)))
    response = await push(client, p, body, XLSX)
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["created"] == 3
    found = codes_by_row(await problem_rows(client, p, response.json()["id"]))
    assert found == {4: ["nik_stored_as_number"], 5: ["nik_stored_as_number"]}
    stored = {r["nik"] for r in await registrations(session, p.agreement.id)}
    assert stored == {exact, as_float, officer_nik(9)}


async def test_a_nul_byte_rejects_its_row_and_names_the_column(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    rows = [officer(1, full_name="Ani\x00Setiawan"), officer(2), officer(3, tps="0\x0019")]
    response = await push(client, p, csv_body(rows), CSV)
    assert response.status_code == 201, response.text
    assert (response.json()["counts"]["created"], response.json()["counts"]["rejected"]) == (1, 2)
    problems = {x["row_number"]: x for x in await problem_rows(client, p, response.json()["id"])}
    assert problems[2]["codes"] == ["nul_character"]
    assert problems[2]["messages"][0].startswith("Kolom full_name: ")
    assert problems[2]["original"][1] == "Ani\ufffdSetiawan"
    assert problems[4]["messages"][0].startswith("Kolom tps: ")
    assert [r["nik"] for r in await registrations(session, p.agreement.id)] == [officer_nik(2)]


async def test_a_nul_byte_in_json_and_in_a_header(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    response = await push(client, p, json_body([officer(1, full_name="A\u0000"), officer(2)]))
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["rejected"] == 1
    header = b"NIK;NAMA;CATATAN\x00\r\n"
    row = f"{officer_nik(3)};Ani;x\r\n".encode()
    response = await push(client, p, header + row, CSV)
    assert response.status_code == 201, response.text
    assert response.json()["columns"] == ["NIK", "NAMA", "CATATAN\ufffd"]


async def test_a_nul_byte_in_an_atomic_roster_is_a_422(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    body = json_body([officer(1), officer(2, phone="08\x0012")], atomic=True)
    response = await push(client, p, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "roster_rejected"
    assert [e["code"] for e in response.json()["errors"]] == ["nul_character"]
    assert await registrations(session, p.agreement.id) == []


async def test_an_unterminated_quote_is_a_422_and_creates_nothing(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    good = csv_body([officer(1), officer(2)])
    for tail in (f'{officer_nik(3)};"Ani;{BORN}\r\n', '"'):
        response = await push(client, p, good + tail.encode(), CSV)
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "roster_malformed"
        assert "Row 4" in problem["detail"]
        assert response.headers["content-type"] == "application/problem+json"
    assert await registrations(session, p.agreement.id) == []


def message_of(problems: list[dict[str, Any]], row: int) -> str:
    (message,) = {x["row_number"]: x for x in problems}[row]["messages"]
    return str(message)


async def test_messages_name_the_column_and_the_closest_values(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    header = "NO KTP;NAMA PETUGAS;TGL LAHIR;JABATAN;KODE WILAYAH;TPS\r\n"
    lines = [
        (officer_nik(1), "Anggota KPSS", "12.09.18.2002"),  # a typo of KPPS
        (officer_nik(2), "Anggota PTPS", "12.09.18.2002"),  # not in this KPU agreement
        (officer_nik(3), "Anggota KPPS", "12.09.18.2092"),  # no such village
        ("12345", "Anggota KPPS", "12.09.18.2002"),
        (officer_nik(5), "Anggota KPPS", "81.71.02.1015"),  # Ambon, outside Asahan
    ]
    body = header + "".join(f"{n};Ani;17-05-1990;{j};{r};019\r\n" for n, j, r in lines)
    response = await push(client, p, ("\ufeff" + body).encode(), CSV)
    assert response.status_code == 201, response.text
    problems = await problem_rows(client, p, response.json()["id"])
    typo = message_of(problems, 2)
    assert typo.startswith("Kolom JABATAN: Jabatan tidak dikenal; yang paling mirip: ")
    assert typo.split(": ")[-1].split(", ")[0] == "KPPS"
    assert message_of(problems, 3).endswith("perjanjian ini mencakup: KPPS")
    village = message_of(problems, 4)
    assert village.startswith("Kolom KODE WILAYAH: Wilayah tidak ditemukan; yang paling mirip: ")
    close = village.split("mirip: ")[1].split(", ")
    assert close and all(c.startswith("12.09.18.") and len(c) == 13 for c in close)
    assert message_of(problems, 5) == "Kolom NO KTP: NIK harus 16 digit angka"
    assert message_of(problems, 6).endswith("luar wilayah perjanjian kerja sama (12.09)")


async def test_an_unknown_district_name_suggests_the_agreement_s_districts(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    rows = [officer(1, region_code=None, district_name="Kisaran Barta", village_name="Sidodadi")]
    response = await push(client, p, csv_body(rows), CSV)
    (problem,) = await problem_rows(client, p, response.json()["id"])
    assert problem["codes"] == ["region_unknown"]
    (message,) = problem["messages"]
    assert message.startswith("Kolom district_name: Wilayah tidak ditemukan; yang paling mirip: ")
    assert "Kisaran Barat" in message.split("mirip: ")[1]


async def test_a_hostile_file_of_unknown_values_is_answered(
    client: httpx.AsyncClient, session: AsyncSession
):
    """Every row a different unknown jabatan: suggestions stop at a bound, rows still say why."""
    p = await parties(client, session)
    rows = [officer(n, role=f"Jabatan {n:04d} \u202e=cmd|' /C calc'!A0") for n in range(1, 801)]
    response = await push(client, p, json_body(rows))
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["rejected"] == 800
    problems = await problem_rows(client, p, response.json()["id"], limit=1000)
    assert all(x["codes"] == ["role_unknown"] for x in problems)
    assert all(x["messages"][0].startswith("Kolom role: Jabatan tidak dikenal") for x in problems)
