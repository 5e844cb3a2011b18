"""A roster settled chunk by chunk while it is read: the outcomes do not depend on the chunks."""

import io
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.rosters import pipeline, survey
from app.rosters.parsing import RoleVocabulary, RosterFormat
from tests.rosters.helpers import (
    CSV,
    codes_by_row,
    csv_body,
    json_body,
    officer,
    parties,
    problem_rows,
    push,
    registrations,
)


@pytest.fixture(params=[1, 2, 20_000], ids=["chunks-of-1", "chunks-of-2", "one-chunk"])
def chunk_rows(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    rows: int = request.param
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", rows)
    return rows


async def test_outcomes_are_the_same_whatever_the_chunks(
    client: httpx.AsyncClient, session: AsyncSession, chunk_rows: int
):
    p = await parties(client, session)
    departed, kept = officer(1), officer(2)
    await push(client, p, json_body([departed, kept]))

    created_here = officer(3)
    rows = [
        officer(4),  # row 2
        {**officer(5), "replaces_nik": departed["nik"], "coverage_start": "2024-11-20"},
        officer(6),  # row 4: the same NIK as row 8
        {**kept, "phone": "081299999999"},  # row 5: updated
        created_here,  # row 6
        {**officer(7), "replaces_nik": created_here["nik"]},  # row 7: not there before
        {**officer(6), "full_name": "Orang Lain"},  # row 8
        officer(8),  # row 9
    ]
    response = await push(client, p, csv_body(rows), CSV)
    assert response.status_code == 201, response.text
    batch = response.json()
    counts = {k: v for k, v in batch["counts"].items() if v}
    assert counts == {"created": 3, "replaced": 1, "updated": 1, "rejected": 3}, chunk_rows

    problems = await problem_rows(client, p, batch["id"])
    assert codes_by_row(problems) == {
        4: ["duplicate_nik_in_file"],
        7: ["replaces_nik_not_found"],
        8: ["duplicate_nik_in_file"],
    }
    messages = {x["row_number"]: x["messages"] for x in problems}
    assert messages[4] == ["NIK yang sama juga ada di baris 8"]
    assert messages[8] == ["NIK yang sama juga ada di baris 4"]

    stored = {r["nik"]: r for r in await registrations(session, p.agreement.id)}
    assert int(officer(6)["nik"]) not in stored
    assert int(officer(7)["nik"]) not in stored
    gone = stored[int(departed["nik"])]
    assert (gone["status"], gone["ended_on"]) == ("replaced", date(2024, 11, 19))
    assert stored[int(officer(5)["nik"])]["replaces_id"] == gone["id"]
    assert stored[int(kept["nik"])]["phone"] == "081299999999"
    assert stored[int(created_here["nik"])]["status"] == "active"


async def test_atomic_applies_nothing_when_the_last_chunk_has_a_rejected_row(
    client: httpx.AsyncClient, session: AsyncSession, chunk_rows: int
):
    p = await parties(client, session)
    rows = [officer(n) for n in range(1, 6)] + [officer(6, full_name="")]
    response = await push(client, p, json_body(rows, atomic=True))
    assert response.status_code == 422, response.text
    assert response.json()["counts"]["rejected"] == 1
    assert await registrations(session, p.agreement.id) == []

    fixed = await push(client, p, json_body([*rows[:-1], officer(6)], atomic=True))
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["counts"]["created"] == 6


def test_the_survey_reads_nik_and_replacement_cells_past_quoted_fields(roles: RoleVocabulary):
    first, second, third = (officer(n)["nik"] for n in (1, 2, 3))
    body = (
        "Daftar KPPS;;\r\n"
        "NAMA;NIK;NIK DIGANTI\r\n"
        f"Ani;{first};\r\n"
        f'"Budi; anak\r\nPak Eko";{second};\r\n'
        f"Citra;{first};\r\n"
        f"Dedi;{third};{second}\r\n"
    ).encode()
    surveyed = survey.survey_file(io.BytesIO(body), RosterFormat.CSV, None, roles)
    assert surveyed == survey.Survey(duplicates=[int(first)], replacements=True)
    without = body.replace(f";{second}\r\n".encode(), b";\r\n")
    assert not survey.survey_file(io.BytesIO(without), RosterFormat.CSV, None, roles).replacements
