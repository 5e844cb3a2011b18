"""HTTP endpoints of the rosters domain: push a roster, read a batch and its problem rows."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.core.accesslog import AccessLogDep
from app.core.database import SessionDep
from app.core.errors import problem_response
from app.core.idempotency import IdempotencyKeyHeader
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.rosters import contract, jobs, service, views
from app.rosters.auth import BatchProblemsRead, BatchRead, RostersWrite
from app.rosters.jobs import LauncherDep
from app.rosters.options import RosterParams
from app.rosters.schemas import RosterBatchRead, RosterMode, RosterRowProblem, counts_of

router = api_router(prefix="/v1", tags=["rosters"], lifespan=jobs.lifespan)
REPLAYED_HEADER = "Idempotent-Replayed"

PUSH_DESCRIPTION = """
Registers a roster of officers under the agreement, from its counterpart (the KPU or Bawaslu
office) or an operator, while the agreement is `active`.

**Bodies** (by `Content-Type`; sniffed when absent or `application/octet-stream`):
- `application/json`: `{"mode": "upsert", "atomic": false, "officers": [{...}, ...]}` or a list;
- `application/x-ndjson`: one officer object per line;
- `text/csv`: `,` or `;`, UTF-8 with or without BOM; headers in English or Indonesian (`NIK`,
  `NAMA`, `TGL LAHIR`, `JENIS KELAMIN`, `JABATAN`, `KODE WILAYAH` or `KECAMATAN` + `DESA`, `TPS`,
  `NO HP`, `TMT`, `TANGGAL SELESAI`, `NIK DIGANTI`), found below a title block if need be;
- XLSX: the first sheet, or `?sheet=`.

An officer: `nik`, `full_name`, `birth_date`, `sex` (L/P), `phone`, `role` (or a JABATAN like
"Ketua KPPS"), `position`, `region_code` (or district and village names), `tps`,
`coverage_start`/`coverage_end` (default: the cohort's period), `replaces_nik` (a PAW).

**Outcomes** per row: `created`, `updated`, `unchanged`, `replaced` (the replaced officer ends
the day before), `held` (overlaps another protecting registration of the NIK: stored, not
protecting, for the BPJS branch to resolve), `rejected` (with codes). `mode=replace` also ends,
the day before `as_of` (default today, Asia/Jakarta), the active registrations of the cohorts in
the file whose NIK is not in it. `atomic=true`: any rejected row and nothing is applied; the
answer is 422 `roster_rejected` with the batch id, and the batch is kept with its errors.

Up to `SYNC_ROSTER_MAX_ROWS` rows (5,000) the answer is 201 with the finished batch; larger
rosters answer 202 with `Location` and are processed in the background: poll the batch.
`Idempotency-Key`: the same key and body answer the same batch without applying it twice.
"""

ROSTER_BODY = {
    "requestBody": {
        "required": True,
        "description": "The roster file (see the formats above)",
        "content": {
            "application/json": {
                "schema": contract.JSON_SCHEMA,
                "example": {
                    "mode": "upsert",
                    "atomic": False,
                    "officers": [
                        {
                            "nik": "1209186702038780",
                            "full_name": "Ani Setiawan",
                            "birth_date": "2003-02-27",
                            "sex": "P",
                            "role": "KPPS",
                            "position": "ketua",
                            "region_code": "12.09.18.2002",
                            "tps": "019",
                        }
                    ],
                },
            },
            "application/x-ndjson": {
                "schema": contract.NDJSON_SCHEMA,
                "example": '{"nik": "1209186702038780", "full_name": "Ani Setiawan", '
                '"birth_date": "2003-02-27", "sex": "P", "role": "KPPS", "position": "ketua", '
                '"region_code": "12.09.18.2002", "tps": "019"}\n',
            },
            "text/csv": {
                "schema": contract.CSV_SCHEMA,
                "example": "NIK;NAMA LENGKAP;TGL LAHIR;JENIS KELAMIN;JABATAN;KODE WILAYAH;TPS\r\n"
                "1209186702038780;Ani Setiawan;27-02-2003;P;Ketua KPPS;12.09.18.2002;019\r\n",
            },
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": contract.XLSX_SCHEMA
            },
        },
    }
}


@router.post(
    "/agreements/{agreement_id}/rosters",
    status_code=201,
    response_model=RosterBatchRead,
    summary="Push a roster of officers (JSON, NDJSON, CSV or XLSX)",
    description=PUSH_DESCRIPTION,
    responses={
        202: {"model": RosterBatchRead, "description": "Accepted: processed in the background"},
        **problems(403, 404, 409, 413, 415),
    },
    openapi_extra=ROSTER_BODY,
)
async def push_roster(
    agreement_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: RostersWrite,
    launch: LauncherDep,
    mode: RosterMode | None = Query(default=None, description="`upsert` (default) or `replace`"),
    atomic: bool | None = Query(default=None, description="All rows or none (default false)"),
    sheet: str | None = Query(default=None, max_length=100, description="XLSX sheet name"),
    as_of: date | None = Query(default=None, description="The roster's date (default today)"),
    content_type: Annotated[str | None, Header(include_in_schema=False)] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    pushed = await service.push_roster(
        session,
        principal,
        agreement_id=agreement_id,
        body=request.stream(),
        params=RosterParams(content_type, mode, atomic, sheet, as_of, idempotency_key),
        settings=request.app.state.settings,
        launch=launch,
    )
    return _answer(pushed)


def _answer(pushed: service.Pushed) -> Response:
    """201 with the finished batch, 202 with its Location, or 422 for a refused atomic one."""
    batch = pushed.batch
    headers = {"Location": f"/v1/roster-batches/{batch.id}"}
    if pushed.replayed:
        headers[REPLAYED_HEADER] = "true"
    if pushed.status_code != 422:
        return json_response(RosterBatchRead.model_validate(batch), pushed.status_code, headers)
    return problem_response(
        422,
        "roster_rejected",
        "The roster was refused",
        batch.error_detail or "Rows were rejected, so nothing was applied",
        errors=[
            {"loc": ["row", str(row.row_number)], "code": code, "msg": message}
            for row in pushed.problems
            if row.outcome == "rejected"
            for code, message in zip(row.codes, row.messages, strict=False)
        ],
        headers=headers,
        extra={
            "batch_id": str(batch.id),
            "counts": counts_of(batch.counts).model_dump(),
            "errors_url": f"/v1/roster-batches/{batch.id}/errors",
        },
    )


@router.get(
    "/roster-batches/{batch_id}",
    response_model=RosterBatchRead,
    summary="A roster batch: status, progress (`processed_rows` of `total_rows`), counts",
    description="Scopes: `rosters:write` or `registrations:read`. Parties of the agreement only.",
    responses=problems(403, 404),
)
async def read_batch(
    batch_id: uuid.UUID, session: SessionDep, principal: BatchRead
) -> RosterBatchRead:
    batch = await views.get_batch(session, principal, batch_id)
    return RosterBatchRead.model_validate(batch)


@router.get(
    "/roster-batches/{batch_id}/errors",
    response_model=Page[RosterRowProblem],
    summary="The rejected and held rows of a batch, as JSON pages or as CSV for Excel",
    description=(
        "With `Accept: text/csv`: every problem row with its original columns plus `baris` "
        "(row), `hasil` (ditolak/ditahan), `kode` (codes) and `alasan` (reasons), in the "
        "upload's delimiter, UTF-8 with BOM so that Excel opens it. Otherwise JSON pages in "
        "row order. Scopes: `rosters:write` or `pii:read` (the rows hold NIKs and names). Every "
        "NIK shown is written to the access log with the key that read it (UU 27/2022)."
    ),
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **problems(403, 404),
    },
)
async def read_batch_errors(
    batch_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: BatchProblemsRead,
    access_log: AccessLogDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response | Page[RosterRowProblem]:
    if accept is not None and "text/csv" in accept.lower():
        batch, body = await views.problems_csv(
            session,
            principal,
            batch_id,
            sessionmaker=request.app.state.sessionmaker,
            access_log=access_log,
        )
        return StreamingResponse(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="roster-{batch.id}-errors.csv"'},
        )
    return await views.list_problems(
        session, principal, batch_id, limit=limit, cursor=cursor, access_log=access_log
    )
