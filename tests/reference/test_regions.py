"""Regions over HTTP: the Kepmendagri 2025 table, lookups by code, filters, search and pages."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Region
from tests.factories import ADMIN, organization_with_key
from tests.problems import assert_problem
from tests.reference.helpers import all_pages

# The regions of the reported agreements (DESIGN section 1), with their paths.
REPORTED = {
    "12.09": ("Kabupaten Asahan", [("12", "Sumatera Utara", "province")]),
    "16.12": (
        "Kabupaten Penukal Abab Lematang Ilir",
        [("16", "Sumatera Selatan", "province")],
    ),
    "16.03": ("Kabupaten Muara Enim", [("16", "Sumatera Selatan", "province")]),
    "81.71": ("Kota Ambon", [("81", "Maluku", "province")]),
    "17": ("Bengkulu", []),
}


async def test_counts_per_level(session: AsyncSession) -> None:
    rows = await session.execute(select(Region.level, func.count()).group_by(Region.level))
    counts = {level: count for level, count in rows.tuples()}
    assert counts == {"province": 38, "regency": 514, "district": 7_285, "village": 83_762}


async def test_counts_of_provinces_and_regencies_over_http(client: httpx.AsyncClient) -> None:
    provinces = await client.get(
        "/v1/regions", params={"level": "province", "limit": 100}, headers=ADMIN
    )
    assert len(provinces.json()["items"]) == 38
    assert provinces.json()["next_cursor"] is None
    regencies = await client.get(
        "/v1/regions", params={"level": "regency", "limit": 1000}, headers=ADMIN
    )
    assert len(regencies.json()["items"]) == 514


@pytest.mark.parametrize("code", sorted(REPORTED))
async def test_reported_regions_with_names_and_paths(client: httpx.AsyncClient, code: str) -> None:
    name, ancestors = REPORTED[code]
    level = "province" if "." not in code else "regency"
    response = await client.get(f"/v1/regions/{code}", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["name"], body["level"]) == (code, name, level)
    expected_path = [
        {"code": c, "name": n, "level": lv} for c, n, lv in [*ancestors, (code, name, level)]
    ]
    assert body["path"] == expected_path
    assert body["parent_code"] == (ancestors[-1][0] if ancestors else None)


async def test_dotted_and_undotted_give_the_same_village(client: httpx.AsyncClient) -> None:
    dotted = await client.get("/v1/regions/16.12.01.2001", headers=ADMIN)
    undotted = await client.get("/v1/regions/1612012001", headers=ADMIN)
    assert dotted.status_code == undotted.status_code == 200
    assert dotted.json() == undotted.json()
    body = dotted.json()
    assert body["code"] == "16.12.01.2001"
    assert body["name"] == "Talang Bulang"
    assert body["level"] == "village"
    assert [step["code"] for step in body["path"]] == ["16", "16.12", "16.12.01", "16.12.01.2001"]
    assert [step["level"] for step in body["path"]] == [
        "province",
        "regency",
        "district",
        "village",
    ]
    short = await client.get("/v1/regions/1612", headers=ADMIN)
    assert short.json()["code"] == "16.12"


async def test_any_valid_key_reads_regions(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "integrator", scopes=["coverage:read"])
    response = await client.get("/v1/regions/81.71", headers=headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Kota Ambon"


async def test_districts_of_pali_by_parent_dotted_or_not(client: httpx.AsyncClient) -> None:
    for parent in ("16.12", "1612"):
        response = await client.get("/v1/regions", params={"parent": parent}, headers=ADMIN)
        body = response.json()
        assert [item["code"] for item in body["items"]] == [f"16.12.0{i}" for i in range(1, 6)]
        assert {item["level"] for item in body["items"]} == {"district"}
        assert body["items"][0] == {
            "code": "16.12.01",
            "name": "Talang Ubi",
            "level": "district",
            "parent_code": "16.12",
        }


async def test_paging_a_small_parent_to_the_end(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    expected = list(
        await session.scalars(
            select(Region.code).where(Region.parent_code == "16.12.01").order_by(Region.code)
        )
    )
    assert len(expected) == 20
    items, pages = await all_pages(client, "/v1/regions", {"parent": "16.12.01", "limit": 3})
    codes = [item["code"] for item in items]
    assert codes == expected  # in code order, none missing, none twice
    assert pages == 7


async def test_level_and_parent_filters_combine(client: httpx.AsyncClient) -> None:
    matching = await client.get(
        "/v1/regions", params={"parent": "16.12", "level": "district"}, headers=ADMIN
    )
    assert len(matching.json()["items"]) == 5
    none = await client.get(
        "/v1/regions", params={"parent": "16.12", "level": "village"}, headers=ADMIN
    )
    assert none.json() == {"items": [], "next_cursor": None}


async def test_unknown_parent_gives_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/regions", params={"parent": "99"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_name_search_is_case_insensitive_substring(client: httpx.AsyncClient) -> None:
    lower = await client.get("/v1/regions", params={"q": "lematang"}, headers=ADMIN)
    upper = await client.get("/v1/regions", params={"q": "LEMATANG"}, headers=ADMIN)
    assert lower.json() == upper.json()
    found = {item["code"]: item["name"] for item in lower.json()["items"]}
    assert found == {
        "16.03.16.2007": "Muara Lematang",
        "16.04.23.2013": "Lematang Jaya",
        "16.12": "Kabupaten Penukal Abab Lematang Ilir",
        "18.01.05.2003": "Lematang",
    }
    regencies = await client.get(
        "/v1/regions", params={"q": "lematang", "level": "regency"}, headers=ADMIN
    )
    assert [item["code"] for item in regencies.json()["items"]] == ["16.12"]
    in_maluku = await client.get(
        "/v1/regions", params={"q": "ambon", "parent": "81"}, headers=ADMIN
    )
    assert [item["code"] for item in in_maluku.json()["items"]] == ["81.71"]


async def test_search_wildcards_are_literal(client: httpx.AsyncClient) -> None:
    for q in ("%", "_", "a%b", "\\"):
        response = await client.get("/v1/regions", params={"q": q}, headers=ADMIN)
        assert response.status_code == 200
        assert response.json()["items"] == [], q


async def test_search_pages_follow_to_the_end(client: httpx.AsyncClient) -> None:
    first = await client.get("/v1/regions", params={"q": "ambon", "limit": 1000}, headers=ADMIN)
    expected = [item["code"] for item in first.json()["items"]]
    assert "81.71" in expected and len(expected) > 3
    items, _ = await all_pages(client, "/v1/regions", {"q": "ambon", "limit": 2})
    assert [item["code"] for item in items] == expected


@pytest.mark.parametrize(
    "code",
    [
        "1",
        "161",
        "16.1",
        "16.12.1",
        "16.1201",
        "1612.01",
        "16.12.01.201",
        "16.12.01.20011",
        "16.12.01.2001.01",
        "161201200",
        "16121200101",
        "16-12",
        "16,12",
        "ab",
        "16.ab",
        "16.12.01.200a",
        "\u0661\u0666",  # Arabic-Indic digits "16"
        "１６",  # fullwidth digits
    ],
)
async def test_malformed_code_is_422(client: httpx.AsyncClient, code: str) -> None:
    assert_problem(
        await client.get(f"/v1/regions/{code}", headers=ADMIN), 422, "invalid_region_code"
    )


@pytest.mark.parametrize("code", ["99", "00", "16.99", "1699", "16.12.99", "16.12.01.9999"])
async def test_unknown_code_is_404(client: httpx.AsyncClient, code: str) -> None:
    assert_problem(await client.get(f"/v1/regions/{code}", headers=ADMIN), 404, "region_not_found")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"level": "kota"}, "validation_error"),
        ({"level": "Province"}, "validation_error"),
        ({"parent": "16-12"}, "invalid_region_code"),
        ({"parent": "161"}, "invalid_region_code"),
        ({"cursor": "not a cursor!"}, "invalid_cursor"),
        ({"cursor": "WzEsMl0"}, "invalid_cursor"),  # base64 of [1,2]: wrong shape
        ({"limit": 0}, "validation_error"),
        ({"limit": 1001}, "validation_error"),
        ({"limit": "ten"}, "validation_error"),
        ({"q": ""}, "validation_error"),
        ({"q": "x" * 101}, "validation_error"),
    ],
)
async def test_bad_list_parameters_are_422(
    client: httpx.AsyncClient, params: dict[str, str | int], code: str
) -> None:
    assert_problem(await client.get("/v1/regions", params=params, headers=ADMIN), 422, code)


@pytest.mark.parametrize("url", ["/v1/regions", "/v1/regions/16.12", "/v1/regions/xx"])
async def test_no_or_wrong_key_is_401(client: httpx.AsyncClient, url: str) -> None:
    assert_problem(await client.get(url), 401, "unauthorized")
    wrong = {"Authorization": "Bearer prs_0123456789.nope"}
    assert_problem(await client.get(url, headers=wrong), 401, "unauthorized")
