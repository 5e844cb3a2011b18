"""Who sees and changes which agreement: parties read, the BPJS branch writes, others get 404."""

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.agreements.helpers import (
    KPPS,
    READ,
    WRITE,
    Parties,
    body,
    counts,
    create,
)
from tests.factories import create_key, party
from tests.problems import assert_problem


async def test_outsiders_get_404_on_everything(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    agreement = await create(client, p, payer_id=p.government.organization_id)
    url = f"/v1/agreements/{agreement['id']}"
    cohort_id = agreement["cohorts"][0]["id"]
    other_branch = await party(client, "bpjs_branch", WRITE)
    other_kpu = await party(client, "kpu", WRITE)
    before = await counts(session)

    for outsider in (other_branch, other_kpu):
        h = {**outsider.headers, "If-Match": '"1"'}
        assert_problem(await client.get(url, headers=h), 404, "agreement_not_found")
        assert_problem(
            await client.patch(url, json={"signed_place": "x"}, headers=h),
            404,
            "agreement_not_found",
        )
        for action in ("activate", "cancel"):
            assert_problem(
                await client.post(f"{url}/{action}", headers=h), 404, "agreement_not_found"
            )
        assert_problem(
            await client.post(f"{url}/end", json={"ended_on": "2025-01-31"}, headers=h),
            404,
            "agreement_not_found",
        )
        assert_problem(
            await client.post(f"{url}/cohorts", json=KPPS | {"role": "PPS"}, headers=h),
            404,
            "agreement_not_found",
        )
        assert_problem(
            await client.patch(
                f"{url}/cohorts/{cohort_id}", json={"planned_headcount": 1}, headers=h
            ),
            404,
            "agreement_not_found",
        )
        listed = await client.get("/v1/agreements", headers=h)
        assert listed.status_code == 200 and listed.json()["items"] == []
    assert await counts(session) == before


async def test_parties_read_and_list_their_own(client: httpx.AsyncClient, p: Parties) -> None:
    mine = await create(client, p, payer_id=p.government.organization_id)
    other_branch = await party(client, "bpjs_branch", WRITE)
    other_kpu = await party(client, "kpu", READ)
    other_body = body(p, number="PKS/OTHER", bpjs_branch_id=other_branch.organization_id)
    other_body["counterpart_id"] = other_kpu.organization_id
    theirs = await client.post("/v1/agreements", json=other_body, headers=other_branch.headers)
    assert theirs.status_code == 201, theirs.text

    for member in (p.branch, p.kpu, p.government):
        listed = (await client.get("/v1/agreements", headers=member.headers)).json()
        assert [item["id"] for item in listed["items"]] == [mine["id"]]
    for member in (other_branch, other_kpu):
        listed = (await client.get("/v1/agreements", headers=member.headers)).json()
        assert [item["id"] for item in listed["items"]] == [theirs.json()["id"]]
    # a filter cannot widen what one sees
    listed = await client.get(
        "/v1/agreements",
        params={"bpjs_branch_id": other_branch.organization_id},
        headers=p.branch.headers,
    )
    assert listed.json()["items"] == []


async def test_counterpart_and_payer_cannot_change(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    kpu = await party(client, "kpu", WRITE)
    government = await party(client, "government", WRITE)
    agreement = await create(
        client, p, counterpart_id=kpu.organization_id, payer_id=government.organization_id
    )
    url = f"/v1/agreements/{agreement['id']}"
    before = await counts(session)
    for member in (kpu, government):
        h = {**member.headers, "If-Match": '"1"'}
        assert (await client.get(url, headers=h)).status_code == 200
        assert_problem(
            await client.patch(url, json={"signed_place": "x"}, headers=h), 403, "not_bpjs_branch"
        )
        assert_problem(await client.post(f"{url}/activate", headers=h), 403, "not_bpjs_branch")
        assert_problem(await client.post(f"{url}/cancel", headers=h), 403, "not_bpjs_branch")
        assert_problem(
            await client.post(f"{url}/cohorts", json=KPPS | {"role": "PPS"}, headers=h),
            403,
            "not_bpjs_branch",
        )
    assert await counts(session) == before


async def test_create_only_as_own_branch(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    other_branch = await party(client, "bpjs_branch", WRITE)
    kpu_writer = await party(client, "kpu", WRITE)
    before = await counts(session)
    assert_problem(
        await client.post("/v1/agreements", json=body(p), headers=other_branch.headers),
        403,
        "not_bpjs_branch",
    )
    assert_problem(
        await client.post("/v1/agreements", json=body(p), headers=kpu_writer.headers),
        403,
        "not_bpjs_branch",
    )
    assert await counts(session) == before


async def test_missing_scope_is_403(client: httpx.AsyncClient, p: Parties) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    no_read = await party(client, "bpjs_branch", ["coverage:read"])
    read_only_branch = await party(client, "bpjs_branch", READ)
    own_branch_reader = await create_key(client, p.branch.organization_id, ["agreements:read"])

    assert_problem(await client.get(url, headers=no_read.headers), 403, "missing_scope")
    assert_problem(
        await client.get("/v1/agreements", headers=no_read.headers), 403, "missing_scope"
    )
    assert_problem(
        await client.post("/v1/agreements", json=body(p), headers=read_only_branch.headers),
        403,
        "missing_scope",
    )
    h = {**own_branch_reader, "If-Match": '"1"'}
    assert (await client.get(url, headers=h)).status_code == 200
    assert_problem(await client.patch(url, json={}, headers=h), 403, "missing_scope")
    assert_problem(await client.post(f"{url}/activate", headers=h), 403, "missing_scope")
    assert_problem(await client.post(f"{url}/cohorts", json=KPPS, headers=h), 403, "missing_scope")
    assert_problem(await client.get(url), 401, "unauthorized")


async def test_operator_sees_and_does_everything(client: httpx.AsyncClient, p: Parties) -> None:
    operator = await party(client, "operator", WRITE, region_code="31")
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    assert (await client.get(url, headers=operator.headers)).status_code == 200
    listed = (await client.get("/v1/agreements", headers=operator.headers)).json()["items"]
    assert agreement["id"] in {item["id"] for item in listed}
    patched = await client.patch(
        url, json={"signed_place": "Kisaran"}, headers={**operator.headers, "If-Match": '"1"'}
    )
    assert patched.status_code == 200
    assert (await client.post(f"{url}/activate", headers=operator.headers)).status_code == 200
    created = await client.post(
        "/v1/agreements", json=body(p, number="PKS/BY-OPERATOR"), headers=operator.headers
    )
    assert created.status_code == 201, created.text
