"""The agreement summary, the enrolment report and their CSV and XLSX downloads."""

import csv
import io
from datetime import date
from typing import Any

import httpx
import openpyxl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.contributions.helpers import (
    KPPS,
    Parties,
    agreement_of,
    held,
    officer,
    officers,
    parties,
    seed_claim,
)
from tests.factories import create_key, create_organization
from tests.seed import CohortSpec, SeededAgreement, seed_registrations

ADMIN = {"Authorization": "Bearer test-admin-key-" + "x" * 32}
CSV = {"Accept": "text/csv"}
XLSX = {"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PPS = CohortSpec(
    role="PPS",
    coverage_start=date(2024, 11, 1),
    coverage_end=date(2024, 11, 30),
    planned_headcount=4,
)


async def seeded_summary(
    client: httpx.AsyncClient, session: AsyncSession
) -> tuple[Parties, SeededAgreement]:
    """KPPS planned 40: 6 active (4 in Aek Kuasan, 2 in Kisaran Barat), 1 held, 1 terminated
    and 1 replaced (Kisaran Barat), 1 rejected; PPS planned 4: 3 active in Kisaran Timur."""
    who = await parties(client)
    agreement = await agreement_of(session, who, KPPS, PPS)
    await seed_registrations(
        session,
        agreement=agreement,
        role="KPPS",
        officers=[
            *officers(3, region_code="12.09.18.2002"),
            officer(region_code="12.09.18"),
            *officers(2, region_code="12.09.19.1001"),
            held(region_code="12.09.18.2003"),
            officer(region_code="12.09.19.1002", status="terminated", ended_on=date(2024, 11, 20)),
            officer(region_code="12.09.19.1002", status="replaced", ended_on=date(2024, 11, 10)),
            officer(region_code="12.09.19.1002", status="rejected"),
        ],
    )
    await seed_registrations(
        session,
        agreement=agreement,
        role="PPS",
        officers=officers(3, region_code="12.09.20.1001"),
        cohort=PPS,
    )
    return who, agreement


async def registration_ids(
    session: AsyncSession, agreement: SeededAgreement, status: str
) -> list[int]:
    rows = await session.scalars(
        text("SELECT id FROM registrations WHERE agreement_id = :a AND status = :s ORDER BY id"),
        {"a": agreement.id, "s": status},
    )
    return list(rows)


def counts(item: dict[str, Any]) -> tuple[int, int, int, int]:
    return item["active"], item["held"], item["terminated"], item["rejected"]


async def test_summary_counts_per_cohort_and_district_and_money(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who, agreement = await seeded_summary(client, session)
    kpps = await registration_ids(session, agreement, "active")
    await seed_claim(
        session, agreement, kpps[0], program="JKM", status="approved", payable=42_000_000
    )
    await seed_claim(
        session, agreement, kpps[1], program="JKK", status="submitted", payable=3_000_000
    )
    await seed_claim(
        session, agreement, kpps[2], program="JKK", status="verified", payable=5_000_000
    )
    await seed_claim(
        session, agreement, kpps[3], program="JKK", status="submitted", payable=700_000
    )
    await seed_claim(session, agreement, kpps[4], program="JKK", status="rejected", payable=1_000)
    paid = await client.post(
        f"/v1/agreements/{agreement.id}/payments",
        json={"amount": 100_000, "paid_on": "2025-01-10", "reference": "R1", "months": ["2024-11"]},
        headers=who.payer_headers,
    )
    assert paid.status_code == 201

    response = await client.get(
        f"/v1/agreements/{agreement.id}/summary", headers=who.branch_headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"] == agreement.number
    cohorts = {c["role"]: c for c in body["cohorts"]}
    assert (cohorts["KPPS"]["planned"], *counts(cohorts["KPPS"])) == (40, 6, 1, 2, 1)
    assert cohorts["KPPS"]["percentage"] == 15.0
    assert (cohorts["PPS"]["planned"], *counts(cohorts["PPS"])) == (4, 3, 0, 0, 0)
    assert cohorts["PPS"]["percentage"] == 75.0
    districts = {d["district_code"]: d for d in body["districts"]}
    assert list(districts) == ["12.09.18", "12.09.19", "12.09.20"]
    assert districts["12.09.18"]["district_name"] == "Aek Kuasan"
    assert counts(districts["12.09.18"]) == (4, 1, 0, 0)
    assert counts(districts["12.09.19"]) == (2, 0, 2, 1)
    assert counts(districts["12.09.20"]) == (3, 0, 0, 0)
    assert body["totals"] == {
        "planned": 44,
        "active": 9,
        "held": 1,
        "terminated": 2,
        "rejected": 1,
        "percentage": 20.5,
    }
    # KPPS: Nov 8 (6 active + terminated + replaced), Dec 6; PPS: Nov 3 -> 17 officer-months
    due = 17 * 16_800
    assert body["contributions"] == {
        "due": due,
        "paid": 100_000,
        "outstanding": due - 100_000,
        "credit": 0,
    }
    assert body["claims"] == [
        {
            "program": "JKK",
            "status": "submitted",
            "count": 2,
            "payable": 3_700_000,
            "entitlement": 0,
        },
        {
            "program": "JKK",
            "status": "verified",
            "count": 1,
            "payable": 5_000_000,
            "entitlement": 0,
        },
        {"program": "JKK", "status": "rejected", "count": 1, "payable": 1_000, "entitlement": 0},
        {
            "program": "JKM",
            "status": "approved",
            "count": 1,
            "payable": 42_000_000,
            "entitlement": 0,
        },
    ]


async def test_summary_scoping(client: httpx.AsyncClient, session: AsyncSession) -> None:
    who, agreement = await seeded_summary(client, session)
    url = f"/v1/agreements/{agreement.id}/summary"

    assert (await client.get(url, headers=who.payer_headers)).status_code == 200
    assert (await client.get(url, headers=ADMIN)).status_code == 200
    outsider = await client.get(url, headers=who.outsider_headers)
    assert outsider.status_code == 404
    assert outsider.json()["code"] == "agreement_not_found"
    no_scope = await client.get(url, headers=who.no_scope_headers)
    assert no_scope.status_code == 403
    unknown = await client.get(
        "/v1/agreements/00000000-0000-4000-8000-000000000000/summary", headers=ADMIN
    )
    assert unknown.status_code == 404
    for path in ("balance", "contributions"):
        other = await client.get(
            f"/v1/agreements/{agreement.id}/{path}", headers=who.outsider_headers
        )
        assert other.status_code == 404, path
        missing = await client.get(
            f"/v1/agreements/{agreement.id}/{path}", headers=who.no_scope_headers
        )
        assert missing.status_code == 403, path


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def read_xlsx(response: httpx.Response) -> dict[str, list[list[Any]]]:
    assert response.headers["content-type"] == XLSX["Accept"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
        for sheet in workbook.worksheets
    }


async def test_downloads_as_csv_and_xlsx_with_indonesian_headers(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who, agreement = await seeded_summary(client, session)
    death = (await registration_ids(session, agreement, "active"))[0]
    await seed_claim(
        session, agreement, death, program="JKM", status="approved", payable=42_000_000
    )
    base = f"/v1/agreements/{agreement.id}"

    contributions_csv = await client.get(f"{base}/contributions", headers=who.branch_headers | CSV)
    contributions_xlsx = await client.get(
        f"{base}/contributions", headers=who.branch_headers | XLSX
    )
    summary_csv = await client.get(f"{base}/summary", headers=who.branch_headers | CSV)
    summary_xlsx = await client.get(f"{base}/summary", headers=who.branch_headers | XLSX)
    balance_csv = await client.get(f"{base}/balance", headers=who.branch_headers | CSV)
    preferred = await client.get(
        f"{base}/contributions",
        headers=who.branch_headers | {"Accept": "application/json;q=0.5, text/csv"},
    )

    assert contributions_csv.status_code == 200
    assert "attachment" in contributions_csv.headers["content-disposition"]
    rows = read_csv(contributions_csv)
    assert rows[0] == [
        "Peran",
        "Bulan",
        "Jumlah Petugas-Bulan",
        "Iuran JKK",
        "Iuran JKM",
        "Total",
        "ID Kelompok",
    ]
    assert rows[1][:6] == ["KPPS", "2024-11", "8", "80000", "54400", "134400"]
    assert rows[-1][:6] == ["JUMLAH", "", "17", "170000", "115600", "285600"]
    sheets = read_xlsx(contributions_xlsx)
    assert sheets["Iuran"][0][:3] == ["Peran", "Bulan", "Jumlah Petugas-Bulan"]
    assert sheets["Iuran"][1][:6] == ["KPPS", "2024-11", 8, 80_000, 54_400, 134_400]

    summary = read_csv(summary_csv)
    assert summary[0] == ["Kelompok"]
    assert summary[1][:4] == ["Peran", "Mulai", "Selesai", "Direncanakan"]
    assert summary[2] == ["KPPS", "2024-11-01", "2024-12-31", "40", "6", "1", "2", "1", "15"]
    assert summary[4][-1] == "20,5"  # decimal comma, for Excel set to Indonesian
    kecamatan = summary.index(["Kecamatan"])
    assert summary[kecamatan + 1] == [
        "Kode Wilayah",
        "Kecamatan",
        "Aktif",
        "Ditahan",
        "Berhenti/Diganti",
        "Ditolak",
    ]
    assert summary[kecamatan + 2] == ["12.09.18", "Aek Kuasan", "4", "1", "0", "0"]
    workbook = read_xlsx(summary_xlsx)
    assert list(workbook) == ["Kelompok", "Kecamatan", "Iuran", "Klaim"]
    assert workbook["Kecamatan"][2] == ["12.09.19", "Kota Kisaran Barat", 2, 0, 2, 1]
    assert workbook["Kelompok"][-1][-1] == 20.5
    assert workbook["Klaim"] == [
        ["Program", "Status", "Jumlah Klaim", "Nilai Manfaat", "Hak Beasiswa"],
        ["JKM", "disetujui", 1, 42_000_000, 0],
    ]

    assert read_csv(balance_csv)[0] == [
        "Bulan",
        "Iuran Terutang",
        "Dibayar",
        "Kurang Bayar",
        "Lebih Bayar",
    ]
    assert preferred.headers["content-type"].startswith("text/csv")


async def enrolment_world(client: httpx.AsyncClient, session: AsyncSession) -> Parties:
    """Asahan (12.09): two agreements of the party, one of another branch; Simalungun (12.08):
    one; the province of Sumatera Utara (12) as a whole: one; PALI (16.12, another province):
    one; plus a draft and one for another election."""
    who = await parties(client)
    asahan = await agreement_of(session, who, CohortSpec(planned_headcount=10))
    await seed_registrations(session, agreement=asahan, role="KPPS", officers=officers(4))
    asahan_pps = await agreement_of(session, who, CohortSpec(role="PPS", planned_headcount=5))
    await seed_registrations(
        session,
        agreement=asahan_pps,
        role="PPS",
        officers=[*officers(2), held(), officer(status="replaced", ended_on=date(2024, 11, 5))],
    )
    other_branch = (await create_organization(client, "bpjs_branch"))["id"]
    theirs = await agreement_of(
        session,
        Parties(other_branch, who.counterpart, who.counterpart, "", {}, {}, {}, {}, {}),
        CohortSpec(planned_headcount=20),
    )
    await seed_registrations(session, agreement=theirs, role="KPPS", officers=officers(5))
    simalungun = await agreement_of(
        session, who, CohortSpec(planned_headcount=8), region_code="12.08"
    )
    await seed_registrations(
        session,
        agreement=simalungun,
        role="KPPS",
        officers=officers(2, region_code="12.08.01"),
    )
    await agreement_of(session, who, CohortSpec(planned_headcount=7), region_code="16.12")
    # a province-wide agreement counts under the province itself
    await agreement_of(session, who, CohortSpec(planned_headcount=3), region_code="12")
    await agreement_of(session, who, CohortSpec(planned_headcount=99), status="draft")
    await agreement_of(
        session,
        who,
        CohortSpec(
            planned_headcount=99,
            coverage_start=date(2023, 11, 1),
            coverage_end=date(2024, 2, 29),
        ),
        election="pemilu-2024",
    )
    return who


async def test_enrolment_report_per_regency_of_a_province(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who = await enrolment_world(client, session)
    url = "/v1/reports/enrolment?election=pilkada-2024"

    operator = await client.get(f"{url}&region=12", headers=ADMIN)
    branch = await client.get(f"{url}&region=12", headers=who.branch_headers)
    country = await client.get(url, headers=who.branch_headers)
    all_elections = await client.get("/v1/reports/enrolment?region=12", headers=who.branch_headers)
    as_csv = await client.get(f"{url}&region=12", headers=who.branch_headers | CSV)
    as_xlsx = await client.get(f"{url}&region=12", headers=who.branch_headers | XLSX)

    assert operator.status_code == 200, operator.text
    body = operator.json()
    assert (body["region_code"], body["region_name"]) == ("12", "Sumatera Utara")
    rows = {row["region_code"]: row for row in body["rows"]}
    assert rows["12.09"] == {
        "region_code": "12.09",
        "region_name": "Kabupaten Asahan",
        "agreements": 3,
        "planned": 35,
        "registered": 11,
        "coverage_ratio": 0.3143,
    }
    assert rows["12.08"]["registered"] == 2
    assert "16.12" not in rows
    # the branch sees only the agreements it is party to
    mine = {row["region_code"]: row for row in branch.json()["rows"]}
    assert (mine["12.09"]["agreements"], mine["12.09"]["planned"], mine["12.09"]["registered"]) == (
        2,
        15,
        6,
    )
    assert (mine["12"]["region_name"], mine["12"]["planned"]) == ("Sumatera Utara", 3)
    assert branch.json()["totals"] == {
        "agreements": 4,
        "planned": 26,
        "registered": 8,
        "coverage_ratio": 0.3077,
    }
    assert [row["region_code"] for row in country.json()["rows"]] == [
        "12",
        "12.08",
        "12.09",
        "16.12",
    ]
    assert country.json()["region_code"] is None
    assert all_elections.json()["totals"]["planned"] == 26 + 99
    table = read_csv(as_csv)
    assert table[0] == [
        "Kode Wilayah",
        "Kabupaten/Kota",
        "Jumlah PKS",
        "Direncanakan",
        "Terdaftar",
        "Rasio Cakupan",
    ]
    assert table[3] == ["12.09", "Kabupaten Asahan", "2", "15", "6", "0,4"]
    assert table[-1] == ["JUMLAH", "Sumatera Utara", "4", "26", "8", "0,3077"]
    assert read_xlsx(as_xlsx)["Kepesertaan"][3] == ["12.09", "Kabupaten Asahan", 2, 15, 6, 0.4]


async def test_enrolment_report_bad_input_and_scope(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who = await parties(client)
    no_reports = await create_key(client, who.branch, ["agreements:read", "agreements:write"])
    url = "/v1/reports/enrolment"

    assert (await client.get(url, headers=no_reports)).status_code == 403
    for query, code in (
        ("region=1", "validation_error"),
        ("region=12.09", "validation_error"),
        ("region=99", "region_not_found"),
        ("election=pemilu-1955", "election_not_found"),
    ):
        response = await client.get(f"{url}?{query}", headers=who.branch_headers)
        assert response.status_code == 422, query
        assert response.json()["code"] == code, query
    empty = await client.get(url, headers=who.outsider_headers)
    assert empty.json()["rows"] == []
    assert empty.json()["totals"]["coverage_ratio"] is None


async def test_openapi_documents_the_download_media_types(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/v1/agreements/{agreement_id}/contributions",
        "/v1/agreements/{agreement_id}/summary",
        "/v1/agreements/{agreement_id}/balance",
        "/v1/reports/enrolment",
    ):
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv", XLSX["Accept"]} <= set(content), path
