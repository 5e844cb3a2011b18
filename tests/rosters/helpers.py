"""Roster test helpers: an agreement with its parties' keys, pushes, officer rows, reads."""

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
from fastapi import FastAPI
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.rosters.repository.batches import batch_lock
from tests.factories import Caller, deal
from tests.seed import CohortSpec, SeededAgreement, make_nik

# The project's sample rosters (synthetic officers, in the shapes district offices send).
SAMPLES = Path(__file__).resolve().parents[1] / "data"
KPPS_CSV = SAMPLES / "roster-kpps-asahan-sample.csv"
PTPS_XLSX = SAMPLES / "roster-ptps-ambon-sample.xlsx"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NDJSON = "application/x-ndjson"
KPPS_NOV_DEC = CohortSpec(
    role="KPPS", coverage_start=date(2024, 11, 1), coverage_end=date(2024, 12, 31)
)
PTPS_NOV_DEC = CohortSpec(
    role="PTPS", coverage_start=date(2024, 11, 1), coverage_end=date(2024, 12, 31)
)
BORN = date(1990, 5, 17)


@dataclass
class Parties:
    agreement: SeededAgreement
    counterpart: dict[str, str]  # headers of the KPU/Bawaslu office's key
    branch: dict[str, str]  # headers of the BPJS branch's key
    counterpart_id: str
    branch_id: str

    @property
    def rosters_url(self) -> str:
        return f"/v1/agreements/{self.agreement.id}/rosters"


async def parties(
    client: httpx.AsyncClient,
    session: AsyncSession,
    *,
    kind: str = "kpu",
    region: str = "12.09",
    cohorts: tuple[CohortSpec, ...] = (KPPS_NOV_DEC,),
    status: str = "active",
    election: str = "pilkada-2024",
    branch: Caller | None = None,
) -> Parties:
    made = await deal(
        client,
        session,
        counterpart_kind=kind,
        region_code=region,
        branch=branch,
        cohorts=cohorts,
        status=status,
        election=election,
    )
    await session.commit()
    return Parties(
        made.agreement,
        made.counterpart.headers,
        made.branch.headers,
        made.counterpart.organization_id,
        made.branch.organization_id,
    )


async def committed_parties(app: FastAPI, client: httpx.AsyncClient, **kwargs: Any) -> Parties:
    """parties() committed for real, for the tests on separate connections."""
    async with app.state.sessionmaker() as session:
        return await parties(client, session, **kwargs)


def officer_nik(serial: int) -> int:
    """The NIK of officer(serial): a man of district 12.09.18 born on BORN."""
    return make_nik("12.09.18", BORN, "L", serial)


def officer(serial: int, **overrides: Any) -> dict[str, Any]:
    """A valid KPPS of Asahan (district 12.09.18) as a JSON roster row."""
    sex = overrides.pop("sex_for_nik", "L")
    born = overrides.pop("born", BORN)
    row: dict[str, Any] = {
        "nik": str(make_nik("12.09.18", born, sex, serial)),
        "full_name": f"Petugas {serial}",
        "birth_date": born.isoformat(),
        "sex": sex,
        "role": "KPPS",
        "position": "anggota",
        "region_code": "12.09.18.2002",
        "tps": "019",
    }
    row.update(overrides)
    return {k: v for k, v in row.items() if v is not None}


def json_body(officers: list[dict[str, Any]], **options: Any) -> bytes:
    return orjson.dumps({**options, "officers": officers})


def csv_body(officers: list[dict[str, Any]], delimiter: str = ";") -> bytes:
    columns = list(dict.fromkeys(key for row in officers for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in officers:
        writer.writerow([row.get(column, "") for column in columns])
    return ("\ufeff" + buffer.getvalue()).encode()


def xlsx_body(officers: list[dict[str, Any]]) -> bytes:
    """The officers as a workbook's one sheet, a header row above them."""
    columns = list(dict.fromkeys(key for row in officers for key in row))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(columns)
    for row in officers:
        sheet.append([row.get(column) for column in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def push(
    client: httpx.AsyncClient,
    p: Parties,
    body: bytes,
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    sent = dict(headers if headers is not None else p.counterpart)
    if content_type is not None:
        sent["Content-Type"] = content_type
    query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
    return await client.post(p.rosters_url, content=body, headers=sent, params=query)


async def registrations(session: AsyncSession, agreement_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await session.execute(
        text(
            "SELECT id, nik, cohort_id, role_code, position, full_name, birth_date, sex, phone, "
            "region_code, tps, coverage_start, coverage_end, ended_on, status, end_reason, "
            "replaces_id, conflict_registration_id, conflict, nik_warnings, batch_id "
            "FROM registrations WHERE agreement_id = :a ORDER BY id"
        ),
        {"a": agreement_id},
    )
    return [dict(row._mapping) for row in rows]


def errors_url(batch_id: Any) -> str:
    return f"/v1/roster-batches/{batch_id}/errors"


async def problem_rows(
    client: httpx.AsyncClient, p: Parties, batch_id: Any, **params: Any
) -> list[dict[str, Any]]:
    """A page of the batch's rejected and held rows, as its counterpart reads them."""
    response = await client.get(errors_url(batch_id), headers=p.counterpart, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def ended(batch: dict[str, Any]) -> bool:
    return batch["status"] in ("completed", "failed")


async def finished(
    client: httpx.AsyncClient,
    location: str,
    headers: dict[str, str],
    until: Callable[[dict[str, Any]], bool] = ended,
) -> dict[str, Any]:
    """The batch at `location` once it is completed or failed, or `until` says so (polled, at
    most 20 s)."""
    for _ in range(400):
        batch = (await client.get(location, headers=headers)).json()
        if until(batch):
            return dict(batch)
        await asyncio.sleep(0.05)
    raise AssertionError(f"the batch did not finish: {batch}")


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    """One value, read on a connection of its own (what other sessions see committed)."""
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar()


def codes_by_row(problems: list[dict[str, Any]]) -> dict[int, list[str]]:
    return {p["row_number"]: p["codes"] for p in problems}


@asynccontextmanager
async def held_by_a_live_process(engine: AsyncEngine, batch_id: uuid.UUID) -> AsyncIterator[None]:
    """While inside, another connection holds the batch's lock, as a process working on it."""
    async with engine.connect() as worker:
        await worker.begin()
        await worker.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:n, 0))"),
            {"n": batch_lock(batch_id)},
        )
        yield
        await worker.rollback()
