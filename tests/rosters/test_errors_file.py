"""The errors file opens in Excel without damage: XLSX with text columns, CSV that keeps NIK,
phone and TPS as text and no cell a formula, NIK warnings in it, 406 for what is not served."""

import csv
import io
from typing import Any

import httpx
from fastapi import FastAPI
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.rosters import jobs
from tests.factories import organization_with_key
from tests.rosters.helpers import (
    CSV,
    XLSX,
    csv_body,
    errors_url,
    json_body,
    officer,
    officer_nik,
    parties,
    problem_rows,
    push,
)

EXTRAS = ["baris", "hasil", "kode", "alasan", "peringatan"]


def hostile_rows() -> list[dict[str, Any]]:
    """Row 2 rejected with cells an attacker chose, row 3 taken with a NIK warning."""
    return [
        officer(
            1,
            full_name='=HYPERLINK("http://x","klik")',
            phone="+62 812-3456",
            tps="",
            KETERANGAN="@SUM(A1)\x01",
        ),
        officer(2, birth_date="1990-05-18", phone="081234567890", KETERANGAN="-1+1"),
    ]


async def test_errors_as_xlsx_keep_text_and_no_formula(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    response = await push(client, p, csv_body(hostile_rows()), CSV)
    assert response.status_code == 201, response.text
    exported = await client.get(
        errors_url(response.json()["id"]), headers={**p.counterpart, "Accept": XLSX}
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == XLSX
    assert exported.headers["content-disposition"].endswith('-errors.xlsx"')
    sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
    header, rejected, warned = (list(row) for row in sheet.iter_rows())
    names = [c.value for c in header]
    assert names[-5:] == EXTRAS
    cells = {name: cell for name, cell in zip(names, rejected, strict=True)}
    assert (cells["nik"].value, cells["nik"].data_type) == (str(officer_nik(1)), "s")
    assert cells["nik"].number_format == "@" and cells["phone"].number_format == "@"
    assert cells["tps"].number_format == "@"
    assert cells["full_name"].data_type == "s"  # a string that reads "=HYPERLINK(...)"
    assert cells["full_name"].value.startswith("=HYPERLINK")
    assert cells["KETERANGAN"].value == "@SUM(A1)\ufffd"
    assert (cells["baris"].value, cells["hasil"].value) == (2, "ditolak")
    assert cells["kode"].value == "tps_missing"
    taken = {name: cell.value for name, cell in zip(names, warned, strict=True)}
    assert (taken["baris"], taken["hasil"], taken["kode"]) == (
        3,
        "diterima",
        "nik_birth_date_mismatch",
    )
    assert taken["phone"] == "081234567890"
    assert taken["peringatan"].startswith("Kolom birth_date: Tanggal lahir berbeda")


async def test_errors_as_csv_keep_text_and_no_formula(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    response = await push(client, p, csv_body(hostile_rows()), CSV)
    exported = await client.get(
        errors_url(response.json()["id"]), headers={**p.counterpart, "Accept": "text/csv"}
    )
    assert exported.status_code == 200
    header, rejected, warned = csv.reader(
        io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"
    )
    cells = dict(zip(header, rejected, strict=True))
    assert cells["nik"] == f'="{officer_nik(1)}"'
    assert cells["phone"] == '="+62 812-3456"'
    assert cells["full_name"] == '\'=HYPERLINK("http://x","klik")'
    assert cells["KETERANGAN"] == "'@SUM(A1)\x01"
    taken = dict(zip(header, warned, strict=True))
    assert taken["phone"] == '="081234567890"' and taken["KETERANGAN"] == "'-1+1"
    assert taken["hasil"] == "diterima" and taken["kode"] == "nik_birth_date_mismatch"
    # No cell but the wrapped identifiers starts as a formula would.
    for row in (rejected, warned):
        for name, cell in zip(header, row, strict=True):
            assert not cell.startswith(("=", "+", "-", "@")) or cell.startswith('="'), name


async def test_a_fixed_errors_file_saved_by_excel_is_taken(
    client: httpx.AsyncClient, session: AsyncSession
):
    """Round trip: what Excel saves of the errors CSV (formulas as their values) goes back in."""
    p = await parties(client, session)
    rows = [officer(1, full_name=""), officer(2, tps="")]
    response = await push(client, p, csv_body(rows), CSV)
    exported = await client.get(
        errors_url(response.json()["id"]), headers={**p.counterpart, "Accept": "text/csv"}
    )
    header, *lines = csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";")
    saved = io.StringIO()
    writer = csv.writer(saved, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for line in lines:
        values = [c[2:-1] if c.startswith('="') else c for c in line]  # as Excel saves them
        fixed = dict(zip(header, values, strict=True))
        fixed["full_name"] = fixed["full_name"] or "Ani"
        fixed["tps"] = fixed["tps"] or "019"
        writer.writerow(fixed.values())
    again = await push(client, p, ("\ufeff" + saved.getvalue()).encode(), CSV)
    assert again.status_code == 201, again.text
    assert again.json()["counts"]["created"] == 2


async def test_nik_warnings_in_the_batch_and_its_errors(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    rows = [
        officer(1, birth_date="1990-05-18"),
        officer(2),
        officer(3, sex="P"),
        officer(4, birth_date="1990-05-19"),
    ]
    response = await push(client, p, csv_body(rows), CSV)
    batch = response.json()
    assert batch["counts"]["created"] == 4
    assert batch["warnings"] == [
        {"code": "nik_birth_date_mismatch", "rows": 2, "row_numbers": [2, 5]},
        {"code": "nik_sex_mismatch", "rows": 1, "row_numbers": [4]},
    ]
    problems = await problem_rows(client, p, batch["id"])
    assert [(x["row_number"], x["outcome"], x["codes"]) for x in problems] == [
        (2, "created", []),
        (4, "created", []),
        (5, "created", []),
    ]
    (warning,) = problems[1]["warnings"]
    assert warning["code"] == "nik_sex_mismatch"
    assert warning["msg"].startswith("Kolom sex: Jenis kelamin berbeda")


async def test_a_format_not_served_is_406(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    batch_id = (await push(client, p, csv_body([officer(1, tps="")]), CSV)).json()["id"]
    url = errors_url(batch_id)
    for accept in ("application/xml", "text/csv;q=0", "image/png, application/pdf"):
        refused = await client.get(url, headers={**p.counterpart, "Accept": accept})
        assert refused.status_code == 406, accept
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "not_acceptable"
    chosen = {
        "*/*": "application/json",
        "text/html,application/xhtml+xml,*/*;q=0.8": "application/json",
        f"text/csv;q=0.5, {XLSX};q=0.9": XLSX,
        "text/*": "text/csv; charset=utf-8",
    }
    for accept, media in chosen.items():
        answer = await client.get(url, headers={**p.counterpart, "Accept": accept})
        assert answer.status_code == 200 and answer.headers["content-type"] == media, accept


async def test_another_organization_s_errors_file_is_404(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    batch_id = (await push(client, p, csv_body([officer(1, tps="")]), CSV)).json()["id"]
    _, stranger = await organization_with_key(client, "kpu", "12.09")
    for accept in (XLSX, "text/csv", "application/json"):
        answer = await client.get(errors_url(batch_id), headers={**stranger, "Accept": accept})
        assert answer.status_code == 404 and answer.json()["code"] == "roster_batch_not_found"


async def test_a_refused_atomic_roster_s_rows_are_purged_after_the_retention(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    body = json_body([officer(1), officer(2, full_name="", phone="081234567890")], atomic=True)
    refused = await push(client, p, body)
    assert refused.status_code == 422 and refused.json()["code"] == "roster_rejected"
    refused_id = refused.json()["batch_id"]
    kept = await push(client, p, csv_body([officer(3, tps="")]), CSV)  # not atomic: kept
    hours = app.state.settings.roster_errors_retention_hours

    async def finished_ago(batch_id: str, hours_ago: float) -> None:
        await session.execute(
            text(
                "UPDATE roster_batches SET finished_at = now() - make_interval(secs => :s) "
                "WHERE id = :id"
            ),
            {"s": hours_ago * 3600, "id": batch_id},
        )

    # Within the retention the errors file still shows the row as written.
    await finished_ago(refused_id, hours - 0.1)
    await finished_ago(kept.json()["id"], hours + 1)
    await jobs.sweep(app.state.sessionmaker, errors_retention_hours=hours)
    (row,) = await problem_rows(client, p, refused_id)
    assert row["nik"] == str(officer_nik(2)) and "081234567890" in row["original"]

    await finished_ago(refused_id, hours + 0.1)
    await jobs.sweep(app.state.sessionmaker, errors_retention_hours=hours)
    (row,) = await problem_rows(client, p, refused_id)
    assert (row["nik"], row["original"], row["codes"]) == (None, [], ["name_missing"])
    batch = (await client.get(f"/v1/roster-batches/{refused_id}", headers=p.counterpart)).json()
    assert batch["errors_purged_at"] is not None
    stored = await session.execute(
        text("SELECT nik, original FROM roster_batch_rows WHERE batch_id = :id"),
        {"id": refused_id},
    )
    assert [tuple(r) for r in stored.all()] == [(None, [])]
    exported = await client.get(
        errors_url(refused_id), headers={**p.counterpart, "Accept": "text/csv"}
    )
    assert str(officer_nik(2)) not in exported.text and "081234567890" not in exported.text
    # A roster that was applied keeps its rows: they stand beside its registrations.
    (other,) = await problem_rows(client, p, kept.json()["id"])
    assert other["nik"] == str(officer_nik(3))
