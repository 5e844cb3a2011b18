"""Adding and correcting cohorts: the role's body, the election window, overlaps, registrations."""

import uuid
from datetime import date

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.agreements.helpers import KPPS, PPK, Parties, counts, create
from tests.problems import assert_problem
from tests.seed import OfficerSpec, SeededAgreement, make_nik, seed_registrations

PTPS = KPPS | {"role": "PTPS", "planned_headcount": 229}


async def test_add_cohort_bad_inputs(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    agreement = await create(client, p, counterpart_id=p.bawaslu.organization_id, cohorts=[PTPS])
    url = f"/v1/agreements/{agreement['id']}/cohorts"
    h = p.branch.headers
    before = await counts(session)
    cases = [
        (KPPS, 422, "role_wrong_body"),
        (PTPS | {"role": "NOPE"}, 422, "role_not_found"),
        (PTPS | {"election": "pemilu-2099"}, 422, "election_not_found"),
        (PTPS | {"coverage_start": "2025-01-01"}, 422, "cohort_period_invalid"),
        (PTPS | {"coverage_end": "2025-06-01"}, 422, "cohort_outside_election_window"),
        # overlaps the PTPS cohort already stored: the database's exclusion constraint answers
        (
            PTPS | {"coverage_start": "2024-12-31", "coverage_end": "2025-01-31"},
            409,
            "cohort_overlaps",
        ),
        (PTPS | {"planned_headcount": "many"}, 422, "validation_error"),
        ({"role": "PKD"}, 422, "validation_error"),
    ]
    for data, status, code in cases:
        assert_problem(await client.post(url, json=data, headers=h), status, code)
    assert await counts(session) == before


async def test_add_cohort_after_activation(client: httpx.AsyncClient, p: Parties) -> None:
    """PALI: the PTPS were added after their inauguration, to an agreement already active."""
    pkd = KPPS | {"role": "PKD", "planned_headcount": 71}
    agreement = await create(client, p, counterpart_id=p.bawaslu.organization_id, cohorts=[pkd])
    url = f"/v1/agreements/{agreement['id']}"
    h = p.branch.headers
    await client.post(f"{url}/activate", headers=h)
    added = await client.post(f"{url}/cohorts", json=PTPS, headers=h)
    assert added.status_code == 201, added.text
    assert added.json()["planned_headcount"] == 229
    # an adjacent period of the same role does not overlap
    later = PTPS | {"coverage_start": "2025-01-01", "coverage_end": "2025-01-31"}
    assert (await client.post(f"{url}/cohorts", json=later, headers=h)).status_code == 201
    read = (await client.get(url, headers=h)).json()
    assert [c["role"] for c in read["cohorts"]] == ["PKD", "PTPS", "PTPS"]


async def test_patch_cohort(client: httpx.AsyncClient, p: Parties) -> None:
    agreement = await create(client, p)
    cohort = next(c for c in agreement["cohorts"] if c["role"] == "KPPS")
    url = f"/v1/agreements/{agreement['id']}/cohorts/{cohort['id']}"
    h = p.branch.headers

    assert_problem(
        await client.patch(url, json={"planned_headcount": 1}, headers=h),
        428,
        "precondition_required",
    )
    assert_problem(
        await client.patch(url, json={"planned_headcount": 1}, headers={**h, "If-Match": '"5"'}),
        412,
        "precondition_failed",
    )
    response = await client.patch(
        url,
        json={"planned_headcount": 12500, "coverage_end": "2025-01-15", "declared_wage": 1_200_000},
        headers={**h, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    changed = next(c for c in response.json()["cohorts"] if c["id"] == cohort["id"])
    assert changed["planned_headcount"] == 12500
    assert changed["coverage_end"] == "2025-01-15"
    assert changed["declared_wage"] == 1_200_000

    bad = [
        ({"coverage_start": "2025-02-01"}, 422, "cohort_period_invalid"),
        ({"coverage_end": "2025-12-31"}, 422, "cohort_outside_election_window"),
        ({"planned_headcount": -5}, 422, "validation_error"),
        ({"role": "PPS"}, 422, "validation_error"),
    ]
    for data, status, code in bad:
        assert_problem(
            await client.patch(url, json=data, headers={**h, "If-Match": '"2"'}), status, code
        )
    assert_problem(
        await client.patch(
            f"/v1/agreements/{agreement['id']}/cohorts/{uuid.uuid4()}",
            json={"planned_headcount": 1},
            headers={**h, "If-Match": '"2"'},
        ),
        404,
        "cohort_not_found",
    )


async def test_cohort_period_keeps_its_registrations(
    client: httpx.AsyncClient, p: Parties, session: AsyncSession
) -> None:
    agreement = await create(client, p, cohorts=[PPK, KPPS])
    url = f"/v1/agreements/{agreement['id']}"
    h = p.branch.headers
    await client.post(f"{url}/activate", headers=h)
    kpps = next(c for c in agreement["cohorts"] if c["role"] == "KPPS")
    seeded = SeededAgreement(uuid.UUID(agreement["id"]), agreement["number"], {"KPPS": kpps["id"]})
    await seed_registrations(
        session,
        agreement=seeded,
        role="KPPS",
        officers=[
            OfficerSpec(
                nik=make_nik(serial=1),
                coverage_start=date(2024, 11, 10),
                coverage_end=date(2024, 12, 20),
            )
        ],
    )
    cohort_url = f"{url}/cohorts/{kpps['id']}"

    for data in ({"coverage_start": "2024-11-11"}, {"coverage_end": "2024-12-19"}):
        assert_problem(
            await client.patch(cohort_url, json=data, headers={**h, "If-Match": '"2"'}),
            409,
            "cohort_period_below_registrations",
        )
    ok = await client.patch(
        cohort_url,
        json={"coverage_start": "2024-11-10", "coverage_end": "2024-12-20"},
        headers={**h, "If-Match": '"2"'},
    )
    assert ok.status_code == 200, ok.text

    # an ended agreement's cohorts are closed
    await client.post(f"{url}/end", json={"ended_on": "2025-01-31"}, headers=h)
    assert_problem(
        await client.patch(
            cohort_url, json={"planned_headcount": 5}, headers={**h, "If-Match": '"4"'}
        ),
        409,
        "agreement_not_open",
    )
