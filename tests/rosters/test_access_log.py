"""A batch's problem rows show officers' NIKs and names: each NIK shown is in the access log."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.access_log import access_log_rows
from tests.factories import ADMIN, issue_key
from tests.rosters.helpers import CSV, csv_body, errors_url, officer, officer_nik, parties, push

ERRORS = "GET /v1/roster-batches/{id}/errors"


NO_NAME = officer_nik(2)
NO_TPS = officer_nik(5)
# 16 digits with an unknown province: rejected, but a number the log can keep.
BAD_PROVINCE = int("99" + str(officer_nik(6))[2:])


async def test_each_nik_shown_in_the_errors_is_logged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    p = await parties(client, session)
    rows = [
        officer(1),  # row 2, created: not a problem row
        officer(2, full_name=""),  # row 3
        officer(3, nik="12345"),  # row 4: not a NIK the log can hold
        officer(4, nik="1.20918E+15"),  # row 5: nor this
        officer(5, tps=""),  # row 6
        officer(6, nik=str(BAD_PROVINCE)),  # row 7
    ]
    response = await push(client, p, csv_body(rows), CSV)
    assert response.status_code == 201, response.text
    url = errors_url(response.json()["id"])
    office = await issue_key(client, p.counterpart_id, ["rosters:write"])
    branch = await issue_key(client, p.branch_id, ["pii:read"])

    first = await client.get(url, params={"limit": 2}, headers=office.headers)
    assert [item["row_number"] for item in first.json()["items"]] == [3, 4]
    assert await access_log_rows(session) == [
        (office.key_id, office.organization_id, NO_NAME, ERRORS, 0)
    ]
    params = {"limit": 2, "cursor": first.json()["next_cursor"]}
    second = await client.get(url, params=params, headers=office.headers)
    assert [item["row_number"] for item in second.json()["items"]] == [5, 6]
    assert (await access_log_rows(session))[1:] == [
        (office.key_id, office.organization_id, NO_TPS, ERRORS, 0)
    ]

    exported = await client.get(url, headers={**branch.headers, "Accept": "text/csv"})
    assert exported.status_code == 200 and len(exported.text.splitlines()) == 6
    assert sorted((await access_log_rows(session))[2:]) == sorted(
        (branch.key_id, branch.organization_id, value, ERRORS, 0)
        for value in (NO_NAME, NO_TPS, BAD_PROVINCE)
    )

    found = await client.get("/v1/access-log", params={"nik": str(NO_NAME)}, headers=ADMIN)
    assert [(item["endpoint"], item["api_key_id"]) for item in found.json()["items"]] == [
        (ERRORS, branch.key_id),
        (ERRORS, office.key_id),
    ]


async def test_a_nik_on_two_rows_is_logged_once_per_answer_a_refusal_not_at_all(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    p = await parties(client, session)
    rows = [officer(2, full_name=""), officer(2, tps="")]
    url = errors_url((await push(client, p, csv_body(rows), CSV)).json()["id"])
    no_scope = await issue_key(client, p.branch_id, ["registrations:read"])

    assert (await client.get(url, headers=no_scope.headers)).status_code == 403
    assert await access_log_rows(session) == []
    page = await client.get(url, headers=p.counterpart)
    assert len(page.json()["items"]) == 2
    csv_export = await client.get(url, headers={**p.counterpart, "Accept": "text/csv"})
    assert csv_export.status_code == 200
    assert [(row[2], row[3]) for row in await access_log_rows(session)] == [
        (NO_NAME, ERRORS),
        (NO_NAME, ERRORS),
    ]
