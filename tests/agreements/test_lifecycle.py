"""Create, read, edit, activate, add cohorts, end, cancel: the agreement's life over HTTP."""

import uuid
from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEntry, Registration
from tests.agreements.helpers import KPPS, Parties, body, counts, create
from tests.problems import assert_problem
from tests.seed import OfficerSpec, SeededAgreement, make_nik, seed_registrations


async def test_create_echoes_fields_with_defaults(client: httpx.AsyncClient, p: Parties) -> None:
    response = await client.post("/v1/agreements", json=body(p), headers=p.branch.headers)

    assert response.status_code == 201, response.text
    data = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/v1/agreements/{data['id']}"
    assert data["status"] == "draft" and data["version"] == 1
    assert data["payer_id"] == p.kpu.organization_id  # defaults to the counterpart
    assert data["programs"] == ["JKK", "JKM"]
    assert data["rates"] == {
        "JKK": {"basis_points": 100, "flat_amount": None},
        "JKM": {"basis_points": None, "flat_amount": 6800},
    }
    assert data["signed_place"] == "Aula Kejaksaan Negeri Asahan"
    cohorts = {c["role"]: c for c in data["cohorts"]}
    assert cohorts["PPK"]["election"] == "pemilu-2024"
    assert cohorts["KPPS"]["election"] == "pilkada-2024"  # the agreement's
    assert cohorts["KPPS"]["planned_headcount"] == 12465
    assert cohorts["KPPS"]["declared_wage"] == 1_000_000
    assert all(c["id"] for c in data["cohorts"])
    assert data["created_at"] and data["updated_at"]


async def test_create_with_government_payer_and_own_rates(
    client: httpx.AsyncClient, p: Parties
) -> None:
    data = await create(
        client,
        p,
        payer_id=p.government.organization_id,
        programs=["JKM"],
        rates={"JKM": {"flat_amount": 7000}},
        cohorts=[{**KPPS, "declared_wage": 2_500_000}],
    )

    assert data["payer_id"] == p.government.organization_id
    assert data["programs"] == ["JKM"]
    assert data["rates"] == {"JKM": {"basis_points": None, "flat_amount": 7000}}
    assert data["cohorts"][0]["declared_wage"] == 2_500_000


async def test_get_has_etag_and_payer_reads(client: httpx.AsyncClient, p: Parties) -> None:
    created = await create(client, p, payer_id=p.government.organization_id)

    for headers in (p.branch.headers, p.kpu.headers, p.government.headers):
        response = await client.get(f"/v1/agreements/{created['id']}", headers=headers)
        assert response.status_code == 200
        assert response.headers["etag"] == '"1"'
        assert response.json() == created


async def test_full_lifecycle(client: httpx.AsyncClient, p: Parties, session: AsyncSession) -> None:
    created = await create(client, p, signed_on=None, signed_place=None)
    url = f"/v1/agreements/{created['id']}"
    h = p.branch.headers

    # not signed yet: cannot activate
    assert_problem(await client.post(f"{url}/activate", headers=h), 409, "agreement_not_signed")

    patched = await client.patch(
        url,
        json={"signed_on": "2024-11-11", "signed_place": "Aula Kejaksaan Negeri Asahan"},
        headers={**h, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    assert patched.json()["signed_on"] == "2024-11-11"

    activated = await client.post(f"{url}/activate", headers=h)
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
    assert activated.headers["etag"] == '"3"'

    # active: no more edits, but cohorts can be added (PTPS after inauguration in real life)
    assert_problem(
        await client.patch(url, json={"signed_place": "x"}, headers={**h, "If-Match": '"3"'}),
        409,
        "agreement_not_editable",
    )
    added = await client.post(
        f"{url}/cohorts",
        json={
            "role": "KETERTIBAN_TPS",
            "planned_headcount": 3562,
            "coverage_start": "2024-11-20",
            "coverage_end": "2024-11-30",
        },
        headers=h,
    )
    assert added.status_code == 201, added.text
    assert added.json()["role"] == "KETERTIBAN_TPS"
    assert added.json()["election"] == "pilkada-2024"

    read = (await client.get(url, headers=h)).json()
    assert read["version"] == 4
    assert len(read["cohorts"]) == 3

    ended = await client.post(f"{url}/end", json={"ended_on": "2025-01-31"}, headers=h)
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"
    assert ended.json()["ended_on"] == "2025-01-31"

    # ended: nothing moves any more
    assert_problem(await client.post(f"{url}/activate", headers=h), 409, "invalid_transition")
    assert_problem(await client.post(f"{url}/cancel", headers=h), 409, "invalid_transition")
    assert_problem(
        await client.post(f"{url}/end", json={"ended_on": "2025-02-28"}, headers=h),
        409,
        "invalid_transition",
    )
    assert_problem(
        await client.post(f"{url}/cohorts", json=KPPS | {"role": "PPS"}, headers=h),
        409,
        "agreement_not_open",
    )

    actions = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type.in_(["agreement", "cohort"]))
        .order_by(AuditEntry.id)
    )
    assert list(actions) == [
        "agreement.create",
        "agreement.update",
        "agreement.activate",
        "cohort.create",
        "agreement.end",
    ]


async def test_cancel_from_draft_only(client: httpx.AsyncClient, p: Parties) -> None:
    draft = await create(client, p)
    h = p.branch.headers
    cancelled = await client.post(f"/v1/agreements/{draft['id']}/cancel", headers=h)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(
        await client.post(f"/v1/agreements/{draft['id']}/activate", headers=h),
        409,
        "invalid_transition",
    )

    active = await create(client, p, number="PKS/2")
    await client.post(f"/v1/agreements/{active['id']}/activate", headers=h)
    assert_problem(
        await client.post(f"/v1/agreements/{active['id']}/cancel", headers=h),
        409,
        "invalid_transition",
    )
    # a draft cannot end either
    other = await create(client, p, number="PKS/3")
    assert_problem(
        await client.post(
            f"/v1/agreements/{other['id']}/end", json={"ended_on": "2025-01-31"}, headers=h
        ),
        409,
        "invalid_transition",
    )


async def test_activate_needs_a_cohort(client: httpx.AsyncClient, p: Parties) -> None:
    draft = await create(client, p, cohorts=[])
    assert_problem(
        await client.post(f"/v1/agreements/{draft['id']}/activate", headers=p.branch.headers),
        409,
        "agreement_has_no_cohorts",
    )


async def test_end_before_signing_is_refused(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    await client.post(f"{url}/activate", headers=p.branch.headers)
    before = await counts(session)
    assert_problem(
        await client.post(f"{url}/end", json={"ended_on": "2024-11-10"}, headers=p.branch.headers),
        422,
        "ended_on_invalid",
    )
    assert (await client.get(url, headers=p.branch.headers)).json()["status"] == "active"
    assert await counts(session) == before


async def test_transition_with_if_match(client: httpx.AsyncClient, p: Parties) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    h = p.branch.headers
    assert_problem(
        await client.post(f"{url}/activate", headers={**h, "If-Match": '"7"'}),
        412,
        "precondition_failed",
    )
    ok = await client.post(f"{url}/activate", headers={**h, "If-Match": '"1"'})
    assert ok.status_code == 200


async def test_idempotent_create_replays_and_refuses_other_body(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    headers = {**p.branch.headers, "Idempotency-Key": "create-asahan-1"}
    first = await client.post("/v1/agreements", json=body(p), headers=headers)
    after_first = await counts(session)
    again = await client.post("/v1/agreements", json=body(p), headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == first.headers["etag"]
    assert await counts(session) == after_first

    other = await client.post("/v1/agreements", json=body(p, number="PKS/OTHER"), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    assert await counts(session) == after_first


async def test_idempotent_add_cohort(client: httpx.AsyncClient, p: Parties) -> None:
    agreement = await create(client, p)
    headers = {**p.branch.headers, "Idempotency-Key": "add-pps"}
    cohort = KPPS | {"role": "PPS", "planned_headcount": 612}
    url = f"/v1/agreements/{agreement['id']}/cohorts"
    first = await client.post(url, json=cohort, headers=headers)
    again = await client.post(url, json=cohort, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    read = (await client.get(f"/v1/agreements/{agreement['id']}", headers=headers)).json()
    assert [c["role"] for c in read["cohorts"]].count("PPS") == 1


async def test_patch_rates_programs_payer_number(client: httpx.AsyncClient, p: Parties) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    response = await client.patch(
        url,
        json={
            "rates": {"JKK": {"basis_points": 89}},
            "payer_id": p.government.organization_id,
            "number": "PKS/RENAMED",
            "region_code": "12",
        },
        headers={**p.branch.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["rates"]["JKK"] == {"basis_points": 89, "flat_amount": None}
    assert data["rates"]["JKM"] == {"basis_points": None, "flat_amount": 6800}
    assert data["payer_id"] == p.government.organization_id
    assert (data["number"], data["region_code"], data["version"]) == ("PKS/RENAMED", "12", 2)

    dropped = await client.patch(
        url, json={"programs": ["JKM"]}, headers={**p.branch.headers, "If-Match": '"2"'}
    )
    assert dropped.status_code == 200, dropped.text
    assert dropped.json()["programs"] == ["JKM"]
    assert set(dropped.json()["rates"]) == {"JKM"}

    back = await client.patch(
        url, json={"programs": ["JKK", "JKM"]}, headers={**p.branch.headers, "If-Match": '"3"'}
    )
    assert back.json()["rates"]["JKK"] == {"basis_points": 100, "flat_amount": None}  # default


async def test_if_match_missing_or_stale(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    before = await counts(session)
    assert_problem(
        await client.patch(url, json={"signed_place": "x"}, headers=p.branch.headers),
        428,
        "precondition_required",
    )
    stale = await client.patch(
        url, json={"signed_place": "x"}, headers={**p.branch.headers, "If-Match": '"2"'}
    )
    assert_problem(stale, 412, "precondition_failed")
    assert stale.headers["etag"] == '"1"'
    assert_problem(
        await client.patch(
            url, json={"signed_place": "x"}, headers={**p.branch.headers, "If-Match": "garbage"}
        ),
        412,
        "precondition_failed",
    )
    assert await counts(session) == before
    # bare and listed tags are accepted
    ok = await client.patch(
        url, json={"signed_place": "y"}, headers={**p.branch.headers, "If-Match": '"9", "1"'}
    )
    assert ok.status_code == 200, ok.text


async def test_list_filters_and_pages(client: httpx.AsyncClient, p: Parties) -> None:
    asahan = await create(client, p, number="PKS/A")
    province = await create(client, p, number="PKS/P", region_code="12")
    bawaslu = await create(
        client,
        p,
        number="PKS/B",
        counterpart_id=p.bawaslu.organization_id,
        cohorts=[KPPS | {"role": "PTPS"}],
    )
    pali = await create(client, p, number="PKS/PALI", region_code="16.12", cohorts=[])
    await client.post(f"/v1/agreements/{asahan['id']}/activate", headers=p.branch.headers)
    h = p.branch.headers

    async def numbers(**params: str) -> list[str]:
        response = await client.get("/v1/agreements", params=params, headers=h)
        assert response.status_code == 200, response.text
        return sorted(item["number"] for item in response.json()["items"])

    assert await numbers() == ["PKS/A", "PKS/B", "PKS/P", "PKS/PALI"]
    assert await numbers(region="12") == ["PKS/A", "PKS/B", "PKS/P"]
    assert await numbers(region="12.09") == ["PKS/A", "PKS/B"]
    assert await numbers(region="16") == ["PKS/PALI"]
    assert await numbers(status="active") == ["PKS/A"]
    assert await numbers(status="draft", counterpart_id=p.bawaslu.organization_id) == ["PKS/B"]
    assert await numbers(election="pemilu-2024") == []
    assert await numbers(election="pilkada-2024", region="16.12") == ["PKS/PALI"]
    assert await numbers(bpjs_branch_id=p.branch.organization_id) == [
        "PKS/A",
        "PKS/B",
        "PKS/P",
        "PKS/PALI",
    ]
    assert province and bawaslu and pali

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/agreements", params=params, headers=h)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    listed = (await client.get("/v1/agreements", headers=h)).json()["items"]
    assert {c["role"] for c in next(i for i in listed if i["number"] == "PKS/A")["cohorts"]} == {
        "PPK",
        "KPPS",
    }


async def test_list_bad_query(client: httpx.AsyncClient, p: Parties) -> None:
    h = p.branch.headers
    assert_problem(
        await client.get("/v1/agreements", params={"region": "1"}, headers=h),
        422,
        "validation_error",
    )
    assert_problem(
        await client.get("/v1/agreements", params={"status": "paused"}, headers=h),
        422,
        "validation_error",
    )
    assert_problem(
        await client.get("/v1/agreements", params={"election": "x\u0000"}, headers=h),
        422,
        "validation_error",
    )
    assert_problem(
        await client.get("/v1/agreements", params={"cursor": "nonsense!"}, headers=h),
        422,
        "invalid_cursor",
    )


async def test_ending_terminates_registrations_running_past_the_end(
    client: httpx.AsyncClient, session: AsyncSession, p: Parties, admin: dict[str, str]
) -> None:
    agreement = await create(client, p)
    url = f"/v1/agreements/{agreement['id']}"
    h = p.branch.headers
    assert (await client.post(f"{url}/activate", headers=h)).status_code == 200
    seeded = SeededAgreement(
        uuid.UUID(agreement["id"]),
        agreement["number"],
        {c["role"]: uuid.UUID(c["id"]) for c in agreement["cohorts"]},
    )
    kpps = [
        OfficerSpec(make_nik(serial=1)),  # 1 Nov - 31 Dec: cut at the end
        OfficerSpec(make_nik(serial=2), coverage_start=date(2024, 12, 20)),  # starts after it
        OfficerSpec(make_nik(serial=3), coverage_end=date(2024, 11, 30)),  # over before it
    ]
    ids = await seed_registrations(session, agreement=seeded, role="KPPS", officers=kpps)

    ended = await client.post(f"{url}/end", json={"ended_on": "2024-12-15"}, headers=h)
    assert ended.status_code == 200, ended.text

    rows = {
        row.id: row
        for row in await session.execute(
            select(Registration.id, Registration.status, Registration.ended_on)
            .where(Registration.id.in_(ids))
            .execution_options(populate_existing=True)
        )
    }
    assert (rows[ids[0]].status, rows[ids[0]].ended_on) == ("terminated", date(2024, 12, 15))
    assert (rows[ids[1]].status, rows[ids[1]].ended_on) == ("terminated", date(2024, 12, 19))
    assert (rows[ids[2]].status, rows[ids[2]].ended_on) == ("active", None)
    nik = f"{make_nik(serial=1):016d}"
    covered = (await client.get(f"/v1/coverage/{nik}?on=2024-12-16", headers=admin)).json()
    assert (covered["covered"], covered["reason"]) == (False, "terminated")
    detail = await session.scalar(
        select(AuditEntry.detail).where(AuditEntry.action == "agreement.end")
    )
    assert detail == {
        "from": "active",
        "to": "ended",
        "ended_on": "2024-12-15",
        "registrations_ended": 2,
    }
