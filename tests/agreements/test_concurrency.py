"""Concurrent requests committing for real: exactly one of two conflicting changes wins."""

import asyncio

import httpx

from tests.agreements.helpers import KPPS, Parties, body, create, parties


async def test_two_patches_at_one_version(committing_client: httpx.AsyncClient) -> None:
    p = await parties(committing_client)
    agreement = await create(committing_client, p)
    url = f"/v1/agreements/{agreement['id']}"
    headers = {**p.branch.headers, "If-Match": '"1"'}

    first, second = await asyncio.gather(
        committing_client.patch(url, json={"signed_place": "Kisaran"}, headers=headers),
        committing_client.patch(url, json={"signed_place": "Asahan"}, headers=headers),
    )

    assert sorted([first.status_code, second.status_code]) == [200, 412]
    winner = first if first.status_code == 200 else second
    loser = second if winner is first else first
    assert loser.json()["code"] == "precondition_failed"
    read = (await committing_client.get(url, headers=p.branch.headers)).json()
    assert read["version"] == 2
    assert read["signed_place"] == winner.json()["signed_place"]


async def test_activate_and_cancel_race(committing_client: httpx.AsyncClient) -> None:
    p = await parties(committing_client)
    agreement = await create(committing_client, p)
    url = f"/v1/agreements/{agreement['id']}"
    h = p.branch.headers

    activated, cancelled = await asyncio.gather(
        committing_client.post(f"{url}/activate", headers=h),
        committing_client.post(f"{url}/cancel", headers=h),
    )

    assert sorted([activated.status_code, cancelled.status_code]) == [200, 409]
    loser = activated if activated.status_code == 409 else cancelled
    assert loser.json()["code"] == "invalid_transition"
    read = (await committing_client.get(url, headers=h)).json()
    assert read["version"] == 2


async def test_same_number_twice_at_once(committing_client: httpx.AsyncClient) -> None:
    """Both pass the pre-check; the unique index decides and the loser gets 409, not 500."""
    p: Parties = await parties(committing_client)
    data = body(p, number="PKS/RACE")
    first, second = await asyncio.gather(
        committing_client.post("/v1/agreements", json=data, headers=p.branch.headers),
        committing_client.post("/v1/agreements", json=data, headers=p.branch.headers),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "agreement_number_exists"


async def test_overlapping_cohorts_at_once(committing_client: httpx.AsyncClient) -> None:
    p = await parties(committing_client)
    agreement = await create(committing_client, p, cohorts=[])
    url = f"/v1/agreements/{agreement['id']}/cohorts"
    h = p.branch.headers
    first, second = await asyncio.gather(
        committing_client.post(url, json=KPPS, headers=h),
        committing_client.post(url, json=KPPS | {"coverage_start": "2024-12-01"}, headers=h),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] == "cohort_overlaps"
