"""Benefit schedules over HTTP: the PP 82/2019 lines in force on a day."""

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.factories import ADMIN, organization_with_key
from tests.problems import assert_problem

PP82_CODES = {
    "JKM_LUMP_SUM",
    "JKM_PERIODIC",
    "JKM_FUNERAL",
    "JKK_MEDICAL",
    "JKK_TRANSPORT",
    "JKK_TEMPORARY_INCAPACITY_FIRST_12",
    "JKK_TEMPORARY_INCAPACITY_AFTER_12",
    "JKK_PARTIAL_DISABILITY",
    "JKK_TOTAL_DISABILITY",
    "JKK_TOTAL_DISABILITY_PERIODIC",
    "JKK_DEATH",
    "JKK_DEATH_FUNERAL",
    "JKK_DEATH_PERIODIC",
    "JKK_SCHOLARSHIP",
}


async def schedules(client: httpx.AsyncClient, **params: str) -> httpx.Response:
    return await client.get("/v1/benefit-schedules", params=params, headers=ADMIN)


async def test_nothing_in_force_before_pp82(client: httpx.AsyncClient) -> None:
    response = await schedules(client, on="2019-12-01")
    assert response.status_code == 200
    assert response.json() == {"on": "2019-12-01", "items": [], "next_cursor": None}


@pytest.mark.parametrize("on", ["2019-12-02", "2024-11-27", "2030-01-01"])
async def test_the_fourteen_pp82_lines(client: httpx.AsyncClient, on: str) -> None:
    body = (await schedules(client, on=on)).json()
    assert body["on"] == on
    items = body["items"]
    assert len(items) == 14
    assert {item["code"] for item in items} == PP82_CODES
    assert all(item["effective_from"] == "2019-12-02" for item in items)
    assert all(item["legal_basis"].startswith("PP 82/2019") for item in items)
    jkm = [item for item in items if item["program"] == "JKM"]
    assert sum(item["amount"] for item in jkm) == 42_000_000
    assert all(item["calculation"] == "fixed" for item in jkm)


async def test_jkk_death_is_48_wages_at_least_20_million(client: httpx.AsyncClient) -> None:
    items = (await schedules(client, on="2024-11-27", program="JKK")).json()["items"]
    assert {item["program"] for item in items} == {"JKK"}
    by_code = {item["code"]: item for item in items}
    death = by_code["JKK_DEATH"]
    assert (death["calculation"], death["multiplier"], death["minimum"]) == (
        "wage_multiple",
        48,
        20_000_000,
    )
    assert by_code["JKK_TOTAL_DISABILITY"]["multiplier"] == 56
    assert by_code["JKK_TEMPORARY_INCAPACITY_AFTER_12"]["multiplier"] == 0.5
    assert by_code["JKK_SCHOLARSHIP"]["maximum"] == 174_000_000


async def test_program_filter(client: httpx.AsyncClient) -> None:
    items = (await schedules(client, on="2024-02-14", program="JKM")).json()["items"]
    assert [item["code"] for item in items] == ["JKM_LUMP_SUM", "JKM_PERIODIC", "JKM_FUNERAL"]


async def test_default_day_is_today_in_jakarta(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "bpjs_branch", scopes=["claims:review"])
    before = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    body = (await client.get("/v1/benefit-schedules", headers=headers)).json()
    after = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    assert body["on"] in {before, after}
    assert len(body["items"]) == 14


@pytest.mark.parametrize(
    "params",
    [
        {"on": "2024-13-01"},
        {"on": "2024-02-30"},
        {"on": "27-11-2024"},
        {"on": "yesterday"},
        {"program": "JHT"},
        {"program": "jkk"},
    ],
)
async def test_bad_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    assert_problem(await schedules(client, **params), 422, "validation_error")


async def test_needs_a_key(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/benefit-schedules"), 401, "unauthorized")
