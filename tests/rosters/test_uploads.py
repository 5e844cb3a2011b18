"""Uploads as people send them: forms, curl --data-binary, octet-stream, Windows browsers' types."""

import io
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Registration, RosterBatch
from app.rosters.options import ACCEPT_POST
from tests.problems import assert_problem
from tests.rosters.helpers import CSV, XLSX, Parties, csv_body, officer, parties, push


def xlsx_body(officers: list[dict[str, Any]]) -> bytes:
    columns = list(dict.fromkeys(key for row in officers for key in row))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in officers:
        sheet.append([row.get(column) for column in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def created(session: AsyncSession, p: Parties) -> int:
    query = select(func.count()).where(Registration.agreement_id == p.agreement.id)
    return int(await session.scalar(query) or 0)


async def batches(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(RosterBatch)) or 0)


async def post_form(
    client: httpx.AsyncClient, p: Parties, files: Any, **kwargs: Any
) -> httpx.Response:
    return await client.post(p.rosters_url, files=files, headers=p.counterpart, **kwargs)


@pytest.mark.parametrize(
    ("filename", "part_type", "kind"),
    [
        ("roster.xlsx", XLSX, "xlsx"),
        ("roster.xlsx", "application/octet-stream", "xlsx"),
        ("roster.csv", "application/vnd.ms-excel", "csv"),
        ("roster.csv", "text/csv", "csv"),
    ],
)
async def test_a_form_with_one_file(
    client: httpx.AsyncClient, session: AsyncSession, filename: str, part_type: str, kind: str
):
    p = await parties(client, session)
    officers = [officer(n) for n in range(1, 4)]
    body = xlsx_body(officers) if kind == "xlsx" else csv_body(officers)
    response = await post_form(client, p, {"file": (filename, body, part_type)})
    assert response.status_code == 201, response.text
    assert response.json()["format"] == kind
    assert response.json()["counts"]["created"] == 3
    assert await created(session, p) == 3
    # The same file sent alone is the same roster: nothing changes.
    alone = await push(client, p, body, XLSX if kind == "xlsx" else CSV)
    assert alone.json()["counts"]["unchanged"] == 3


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",  # curl --data-binary @roster.csv
        "application/octet-stream",
        "application/vnd.ms-excel",  # a .csv from a Windows browser
        None,
    ],
)
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
async def test_sniffed_types(
    client: httpx.AsyncClient, session: AsyncSession, content_type: str | None, kind: str
):
    p = await parties(client, session)
    officers = [officer(n) for n in range(1, 3)]
    body = xlsx_body(officers) if kind == "xlsx" else csv_body(officers, delimiter=",")
    response = await push(client, p, body, content_type)
    assert response.status_code == 201, response.text
    assert (response.json()["format"], response.json()["counts"]["created"]) == (kind, 2)


async def test_415_names_what_is_accepted(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    for content_type, body in [
        ("image/png", b"\x89PNG\r\n"),
        ("application/octet-stream", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 a legacy .xls"),
    ]:
        response = await push(client, p, body, content_type)
        assert_problem(response, 415, "unsupported_media_type")
        accepted = [t.strip() for t in response.headers["Accept-Post"].split(",")]
        assert {"multipart/form-data", "text/csv", XLSX, "application/json"} <= set(accepted)
        assert response.headers["Accept-Post"] == ACCEPT_POST
    assert await batches(session) == 0


async def test_a_multipart_body_without_its_content_type_is_not_read_as_csv(
    client: httpx.AsyncClient, session: AsyncSession
):
    p = await parties(client, session)
    form = httpx.Request(
        "POST", "http://test", files={"file": ("roster.csv", csv_body([officer(1)]), CSV)}
    )
    body = form.read()
    boundary = form.headers["Content-Type"].split("boundary=")[1]
    for content_type in (None, "multipart/form-data", "application/octet-stream"):
        response = await push(client, p, body, content_type)
        assert_problem(response, 415, "unsupported_media_type")
        assert "Accept-Post" in response.headers
    assert await batches(session) == 0 and await created(session, p) == 0
    # With its Content-Type, the same body is read.
    right = await push(client, p, body, f"multipart/form-data; boundary={boundary}")
    assert right.status_code == 201, right.text
    assert await created(session, p) == 1


async def test_bad_forms(client: httpx.AsyncClient, session: AsyncSession):
    p = await parties(client, session)
    roster = csv_body([officer(1)])
    two_files = await post_form(client, p, [("file", ("a.csv", roster)), ("b", ("b.csv", roster))])
    assert_problem(two_files, 422, "roster_malformed")
    with_field = await post_form(client, p, {"file": ("a.csv", roster)}, data={"mode": "replace"})
    assert_problem(with_field, 422, "invalid_roster_options")
    no_file = await client.post(
        p.rosters_url,
        content=b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n',
        headers={**p.counterpart, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert no_file.status_code == 422
    cut = await client.post(
        p.rosters_url,
        content=b'--b\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n\r\n'
        + roster,
        headers={**p.counterpart, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert_problem(cut, 422, "roster_malformed")
    empty = await post_form(client, p, {"file": ("a.csv", b"")})
    assert_problem(empty, 422, "roster_empty")
    assert await batches(session) == 0 and await created(session, p) == 0
