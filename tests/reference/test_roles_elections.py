"""Roles and elections over HTTP: the catalog, per-election age limits, adding elections."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry, Election, RoleAgeLimit
from tests.factories import ADMIN, organization_with_key
from tests.problems import assert_problem
from tests.reference.helpers import all_pages

ROLE_CODES = {
    "PPK",
    "SEKRETARIAT_PPK",
    "PPS",
    "SEKRETARIAT_PPS",
    "PANTARLIH",
    "KPPS",
    "KETERTIBAN_TPS",
    "PANWASCAM",
    "SEKRETARIAT_PANWASCAM",
    "KASEKCAM",
    "PKD",
    "PTPS",
    "TENAGA_PENDUKUNG",
}

PSU = {
    "code": "psu-ambon-2025",
    "name": "Pemungutan Suara Ulang Pilkada 2024",
    "voting_day": "2025-04-19",
    "age_limits": [
        {"role": "PTPS", "min_age": 21, "max_age": 60},
        {"role": "KPPS", "min_age": 17, "max_age": 50},
    ],
}


async def election_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Election)) or 0)


async def operator_headers(client: httpx.AsyncClient) -> dict[str, str]:
    _, headers = await organization_with_key(client, "operator", scopes=["agreements:read"])
    return headers


# Roles


async def test_roles_catalog(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/roles", headers=ADMIN)
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    roles = {role["code"]: role for role in body["items"]}
    assert set(roles) == ROLE_CODES
    assert roles["KETERTIBAN_TPS"] | {"age_limits": []} == {
        "code": "KETERTIBAN_TPS",
        "body": "kpu",
        "level": "tps",
        "name": "Petugas Ketertiban TPS (Linmas)",
        "min_age": 17,
        "max_age": None,
        "age_limits": [],
    }
    assert (roles["PTPS"]["body"], roles["PTPS"]["level"]) == ("bawaslu", "tps")
    assert (roles["PKD"]["body"], roles["PKD"]["level"]) == ("bawaslu", "desa")
    assert (roles["PPK"]["body"], roles["PPK"]["level"]) == ("kpu", "kecamatan")
    assert roles["TENAGA_PENDUKUNG"]["body"] == "any"
    assert all(role["min_age"] == 17 for role in roles.values())


async def test_kpps_at_most_55_for_pemilu_2024(client: httpx.AsyncClient) -> None:
    roles = {r["code"]: r for r in (await client.get("/v1/roles", headers=ADMIN)).json()["items"]}
    kpps = roles["KPPS"]
    assert kpps["max_age"] is None  # the default: no maximum
    assert {"election": "pemilu-2024", "min_age": 17, "max_age": 55} in kpps["age_limits"]
    assert "pilkada-2024" not in {limit["election"] for limit in kpps["age_limits"]}


async def test_roles_need_a_key(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/roles"), 401, "unauthorized")


# Elections: reading


async def test_seeded_elections(client: httpx.AsyncClient) -> None:
    items, _ = await all_pages(client, "/v1/elections", {"limit": 1})
    by_code = {item["code"]: item for item in items}
    assert by_code["pemilu-2024"] == {
        "code": "pemilu-2024",
        "name": "Pemilihan Umum 2024",
        "voting_day": "2024-02-14",
        "age_limits": [{"role": "KPPS", "min_age": 17, "max_age": 55}],
    }
    assert by_code["pilkada-2024"]["voting_day"] == "2024-11-27"
    assert by_code["pilkada-2024"]["age_limits"] == []
    codes = [item["code"] for item in items]
    assert codes == sorted(set(codes))  # code order, no duplicates across pages


async def test_read_one_election(client: httpx.AsyncClient) -> None:
    _, headers = await organization_with_key(client, "kpu", scopes=["rosters:write"])
    response = await client.get("/v1/elections/pilkada-2024", headers=headers)
    assert response.status_code == 200
    assert response.json()["name"] == "Pemilihan Kepala Daerah Serentak 2024"


@pytest.mark.parametrize("code", ["pemilu-2019", "PEMILU-2024", "x"])
async def test_unknown_election_is_404(client: httpx.AsyncClient, code: str) -> None:
    assert_problem(
        await client.get(f"/v1/elections/{code}", headers=ADMIN), 404, "election_not_found"
    )


async def test_election_reads_need_a_key(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/elections"), 401, "unauthorized")
    assert_problem(await client.get("/v1/elections/pemilu-2024"), 401, "unauthorized")
    assert_problem(
        await client.get("/v1/elections", params={"cursor": "%%%"}, headers=ADMIN),
        422,
        "invalid_cursor",
    )


# Elections: adding


async def test_operator_adds_an_election(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await operator_headers(client)
    response = await client.post("/v1/elections", json=PSU, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/v1/elections/psu-ambon-2025"
    created = response.json()
    assert created == {
        "code": "psu-ambon-2025",
        "name": "Pemungutan Suara Ulang Pilkada 2024",
        "voting_day": "2025-04-19",
        "age_limits": [
            {"role": "KPPS", "min_age": 17, "max_age": 50},
            {"role": "PTPS", "min_age": 21, "max_age": 60},
        ],
    }
    assert (await client.get("/v1/elections/psu-ambon-2025", headers=ADMIN)).json() == created
    roles = {r["code"]: r for r in (await client.get("/v1/roles", headers=ADMIN)).json()["items"]}
    assert {"election": "psu-ambon-2025", "min_age": 21, "max_age": 60} in roles["PTPS"][
        "age_limits"
    ]
    actions = list(
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == "psu-ambon-2025")
        )
    )
    assert actions == ["election.create"]


async def test_admin_key_adds_an_election_without_limits(client: httpx.AsyncClient) -> None:
    body = {"code": "pemilu-2034", "name": "Pemilihan Umum 2034", "voting_day": "2034-02-14"}
    response = await client.post("/v1/elections", json=body, headers=ADMIN)
    assert response.status_code == 201
    assert response.json()["age_limits"] == []


async def test_non_operator_gets_403(client: httpx.AsyncClient, session: AsyncSession) -> None:
    before = await election_count(session)
    for kind in ("kpu", "bpjs_branch", "integrator"):
        _, headers = await organization_with_key(client, kind)  # every non-admin scope
        response = await client.post("/v1/elections", json=PSU, headers=headers)
        assert_problem(response, 403, "operator_only")
    assert await election_count(session) == before


async def test_no_key_gets_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/v1/elections", json=PSU), 401, "unauthorized")


async def test_duplicate_code_is_409(client: httpx.AsyncClient, session: AsyncSession) -> None:
    seeded = {"code": "pemilu-2024", "name": "Another", "voting_day": "2024-02-14"}
    assert_problem(
        await client.post("/v1/elections", json=seeded, headers=ADMIN), 409, "election_exists"
    )
    assert (await client.post("/v1/elections", json=PSU, headers=ADMIN)).status_code == 201
    again = dict(PSU, name="Different name")
    assert_problem(
        await client.post("/v1/elections", json=again, headers=ADMIN), 409, "election_exists"
    )
    election = await session.get(Election, "pemilu-2024")
    assert election is not None and election.name == "Pemilihan Umum 2024"


async def test_idempotent_replay(client: httpx.AsyncClient, session: AsyncSession) -> None:
    headers = await operator_headers(client)
    keyed = headers | {"Idempotency-Key": "psu-1"}
    first = await client.post("/v1/elections", json=PSU, headers=keyed)
    second = await client.post("/v1/elections", json=PSU, headers=keyed)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json() == first.json()
    assert second.headers["location"] == first.headers["location"]
    limits = await session.scalar(
        select(func.count())
        .select_from(RoleAgeLimit)
        .where(RoleAgeLimit.election_code == "psu-ambon-2025")
    )
    assert limits == 2
    changed = await client.post("/v1/elections", json=dict(PSU, name="Changed"), headers=keyed)
    assert_problem(changed, 422, "idempotency_key_reused")


async def test_unknown_role_is_422_and_nothing_is_written(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await election_count(session)
    body = dict(
        PSU, age_limits=[{"role": "KPPS", "min_age": 17}, {"role": "LINMAS", "min_age": 17}]
    )
    response = await client.post("/v1/elections", json=body, headers=ADMIN)
    assert_problem(response, 422, "role_not_found")
    assert response.json()["errors"] == [
        {
            "loc": ["body", "age_limits", "1", "role"],
            "code": "role_not_found",
            "msg": "No role has the code LINMAS",
        }
    ]
    assert await election_count(session) == before


BAD_BODIES: list[dict[str, Any]] = [
    {"name": "No code", "voting_day": "2034-02-14"},
    dict(PSU, code="Pemilu-2034"),
    dict(PSU, code="pemilu 2029"),
    dict(PSU, code="-pemilu"),
    dict(PSU, code="x"),
    dict(PSU, name=""),
    dict(PSU, name="   "),
    dict(PSU, voting_day="2029-02-30"),
    dict(PSU, voting_day="14-02-2029"),
    dict(PSU, age_limits=[{"role": "KPPS", "min_age": 16}]),
    dict(PSU, age_limits=[{"role": "KPPS", "min_age": 30, "max_age": 25}]),
    dict(PSU, age_limits=[{"role": "KPPS", "min_age": 17}, {"role": "KPPS", "min_age": 18}]),
    dict(PSU, age_limits=[{"role": "KPPS"}]),
    dict(PSU, age_limits=[{"role": "KPPS", "min_age": 17, "extra": 1}]),
    dict(PSU, age_limits={"KPPS": 55}),
    dict(PSU, extra=True),
]


@pytest.mark.parametrize("body", BAD_BODIES)
async def test_bad_bodies_are_422(
    client: httpx.AsyncClient, session: AsyncSession, body: dict[str, Any]
) -> None:
    before = await election_count(session)
    response = await client.post("/v1/elections", json=body, headers=ADMIN)
    assert_problem(response, 422, "validation_error")
    assert await election_count(session) == before


async def test_non_json_body_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/elections",
        content=b"code=pemilu-2034",
        headers=ADMIN | {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415, "unsupported_media_type")
