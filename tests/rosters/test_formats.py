"""Every body format lands the same officers: the shared samples, JSON, NDJSON, CSV variants."""

from datetime import date

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.rosters.helpers import (
    CSV,
    KPPS_CSV,
    NDJSON,
    PTPS_NOV_DEC,
    PTPS_XLSX,
    XLSX,
    csv_body,
    json_body,
    officer,
    parties,
    push,
    registrations,
)


async def test_the_kpps_sample_csv_of_asahan(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    response = await push(client, p, KPPS_CSV.read_bytes(), CSV)
    assert response.status_code == 201, response.text
    batch = response.json()
    assert response.headers["Location"] == f"/v1/roster-batches/{batch['id']}"
    assert batch["status"] == "completed" and batch["applied"] is True
    assert batch["format"] == "csv" and batch["delimiter"] == ";"
    assert batch["total_rows"] == batch["processed_rows"] == 60
    assert batch["counts"] == {
        "created": 60,
        "updated": 0,
        "unchanged": 0,
        "replaced": 0,
        "held": 0,
        "rejected": 0,
        "terminated": 0,
    }
    assert batch["columns"][:3] == ["NIK", "NAMA LENGKAP", "TGL LAHIR"]
    rows = await registrations(session, p.agreement.id)
    assert len(rows) == 60
    ani = next(r for r in rows if r["nik"] == 1209186702038780)
    assert ani["full_name"] == "Ani Setiawan"
    assert ani["birth_date"] == date(2003, 2, 27)
    assert ani["sex"] == "P"
    assert ani["phone"] == "081878106871"
    assert (ani["role_code"], ani["position"]) == ("KPPS", "ketua")
    assert (ani["region_code"], ani["tps"]) == ("12.09.18.2002", "019")
    assert (ani["coverage_start"], ani["coverage_end"]) == (date(2024, 11, 1), date(2024, 12, 31))
    assert ani["status"] == "active" and ani["cohort_id"] == p.agreement.cohorts["KPPS"]
    assert {str(r["batch_id"]) for r in rows} == {batch["id"]}

    read = await client.get(f"/v1/roster-batches/{batch['id']}", headers=p.branch)
    assert read.status_code == 200
    assert read.json()["counts"]["created"] == 60


async def test_the_ptps_sample_xlsx_of_ambon(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session, kind="bawaslu", region="81.71", cohorts=(PTPS_NOV_DEC,))
    body = PTPS_XLSX.read_bytes()
    response = await push(client, p, body, XLSX)
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["format"] == "xlsx" and batch["counts"]["created"] == 40
    # The sheet by name, case aside: the same file again changes nothing.
    again = await push(client, p, body, XLSX, sheet="daftar petugas")
    assert again.status_code == 201, again.text
    assert again.json()["counts"]["unchanged"] == 40
    rows = await registrations(session, p.agreement.id)
    dedi = next(r for r in rows if r["nik"] == 8171022304980718)
    assert (dedi["role_code"], dedi["position"], dedi["tps"]) == ("PTPS", "anggota", "008")
    assert dedi["birth_date"] == date(1998, 4, 23) and dedi["region_code"] == "81.71.02.1015"
    missing = await push(client, p, body, XLSX, sheet="Rekap")
    assert missing.status_code == 422
    assert missing.json()["code"] == "roster_sheet_not_found"


async def test_json_ndjson_and_comma_csv(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    first = await push(client, p, json_body([officer(1), officer(2)], mode="upsert"))
    assert first.status_code == 201, first.text
    assert first.json()["format"] == "json" and first.json()["counts"]["created"] == 2

    bare_list = orjson.dumps([officer(3)])
    assert (await push(client, p, bare_list)).json()["counts"]["created"] == 1

    lines = b"\n".join(orjson.dumps(o) for o in (officer(4), officer(5))) + b"\n"
    ndjson = await push(client, p, lines, NDJSON)
    assert ndjson.status_code == 201, ndjson.text
    assert ndjson.json()["format"] == "ndjson" and ndjson.json()["counts"]["created"] == 2

    comma = csv_body([officer(6), officer(7)], delimiter=",").replace(b"\r\n", b"\n")
    response = await push(client, p, comma, "text/csv; charset=utf-8")
    assert response.status_code == 201, response.text
    assert response.json()["delimiter"] == "," and response.json()["counts"]["created"] == 2

    # Without a Content-Type the body is sniffed.
    sniffed = await push(client, p, csv_body([officer(8)]), None)
    assert sniffed.status_code == 201, sniffed.text
    assert sniffed.json()["format"] == "csv"
    assert len(await registrations(session, p.agreement.id)) == 8


async def test_district_and_village_names_instead_of_a_code(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    village, district = (
        await session.execute(
            text(
                "SELECT v.name, d.name FROM regions v JOIN regions d ON d.code = v.parent_code "
                "WHERE v.code = '12.09.18.2002'"
            )
        )
    ).one()
    row = officer(1, region_code=None)
    body = csv_body([{**row, "KECAMATAN": f"Kec. {district.upper()}", "DESA": village}])
    response = await push(client, p, body, CSV)
    assert response.status_code == 201, response.text
    assert response.json()["counts"]["created"] == 1
    (stored,) = await registrations(session, p.agreement.id)
    assert stored["region_code"] == "12.09.18.2002"
