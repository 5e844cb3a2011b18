"""Setup for claim tests: an agreement with two cohorts (wages 1,000,000 and 2,200,000), its
parties with keys, an outsider, officers on demand and claim bodies."""

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Caller, deal, party
from tests.seed import (
    CohortSpec,
    OfficerSpec,
    SeededAgreement,
    make_nik,
    seed_registrations,
)

START = date(2024, 11, 1)
END = date(2024, 12, 31)
# The declared wage of each cohort's role.
ROLE_OF_WAGE = {1_000_000: "KPPS", 2_200_000: "PPS"}
# NIK serials, distinct across every world of a test session.
SERIALS = itertools.count(1)
REVIEW = ["claims:write", "claims:review", "pii:read"]
WRITE = ["claims:write", "pii:read"]


@dataclass
class World:
    """`branch` reviews; `counterpart` (KPU) and `payer` (government) file; `outsider` is a
    BPJS branch of another agreement holding every claims scope."""

    session: AsyncSession
    agreement: SeededAgreement
    branch: Caller
    counterpart: Caller
    payer: Caller
    outsider: Caller

    async def officer(
        self,
        *,
        wage: int = 1_000_000,
        status: str = "active",
        ended_on: date | None = None,
        conflict: dict[str, object] | None = None,
        coverage_start: date | None = None,
        coverage_end: date | None = None,
    ) -> tuple[int, str]:
        """A new officer's registration id and NIK (as the API writes it)."""
        nik = nik_of(next(SERIALS))
        role = ROLE_OF_WAGE[wage]
        [registration_id] = await seed_registrations(
            self.session,
            agreement=self.agreement,
            role=role,
            cohort=CohortSpec(role=role, coverage_start=START, coverage_end=END),
            officers=[
                OfficerSpec(
                    nik=nik,
                    status=status,
                    ended_on=ended_on,
                    conflict=conflict,
                    coverage_start=coverage_start,
                    coverage_end=coverage_end,
                )
            ],
        )
        return registration_id, f"{nik:016d}"


def nik_of(serial: int) -> int:
    return make_nik(serial=serial)


async def world(
    client: httpx.AsyncClient,
    session: AsyncSession,
    *,
    programs: tuple[str, ...] = ("JKK", "JKM"),
) -> World:
    made = await deal(
        client,
        session,
        payer_kind="government",
        scopes=REVIEW,
        payer_scopes=WRITE,
        programs=programs,
        cohorts=[
            CohortSpec(role=role, coverage_start=START, coverage_end=END, declared_wage=wage)
            for wage, role in ROLE_OF_WAGE.items()
        ],
    )
    return World(
        session=session,
        agreement=made.agreement,
        branch=made.branch,
        counterpart=made.counterpart,
        payer=made.payer,
        outsider=await party(client, "bpjs_branch", REVIEW),
    )


CLAIMANT_NIK = "3171015708850002"  # a valid NIK (Jakarta Pusat, woman born 1985-08-17)


def claimant(relation: str) -> dict[str, Any]:
    return {
        "name": "Ani Setiawan",
        "nik": CLAIMANT_NIK,
        "relation": relation,
        "phone": "081234567890",
        "bank_name": "BRI",
        "bank_account": "0123456789",
    }


def jkk(registration_id: int, **overrides: Any) -> dict[str, Any]:
    """A JKK work-accident claim with outcome treatment, reported the next morning by the
    officer's spouse."""
    body: dict[str, Any] = {
        "registration_id": registration_id,
        "program": "JKK",
        "incident_type": "work_accident",
        "incident_date": "2024-11-27",
        "incident_at": "21:30:00",
        "reported_at": "2024-11-28T09:00:00+07:00",
        "place_region_code": "12.09.18.2002",
        "place": "TPS 019 Desa Sei Kamah",
        "chronology": "Terjatuh dari tangga saat memindahkan kotak suara.\n\tDibawa ke puskesmas.",
        "on_duty": True,
        "outcome": "treatment",
        "claimant": claimant("spouse"),
    }
    body.update(overrides)
    return body


def jkm(registration_id: int, **overrides: Any) -> dict[str, Any]:
    """A JKM claim: a death not caused by work, claimed by the spouse."""
    body = jkk(
        registration_id,
        program="JKM",
        incident_type="death",
        outcome=None,
        chronology="Meninggal dunia karena sakit di rumah.",
        claimant=claimant("spouse"),
    )
    del body["outcome"]
    body.update(overrides)
    return body


async def file(
    client: httpx.AsyncClient, caller: Caller, body: dict[str, Any], status: int = 201
) -> dict[str, Any]:
    response = await client.post("/v1/claims", json=body, headers=caller.headers)
    assert response.status_code == status, response.text
    return dict(response.json())


async def receive_all(client: httpx.AsyncClient, caller: Caller, claim: dict[str, Any]) -> str:
    """Mark every missing required document received; the claim's ETag afterwards."""
    etag = f'"{claim["version"]}"'
    for kind in claim["documents_missing"]:
        response = await client.post(
            f"/v1/claims/{claim['id']}/documents",
            json={"kind": kind, "reference": f"{kind}.pdf"},
            headers=caller.headers,
        )
        assert response.status_code == 200, response.text
        etag = response.headers["ETag"]
    return etag


async def move(
    client: httpx.AsyncClient,
    caller: Caller,
    claim_id: str,
    etag: str | None,
    body: dict[str, Any],
) -> httpx.Response:
    headers = dict(caller.headers)
    if etag is not None:
        headers["If-Match"] = etag
    return await client.post(f"/v1/claims/{claim_id}/transitions", json=body, headers=headers)
