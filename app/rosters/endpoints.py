"""HTTP endpoints of the rosters domain: push a roster, read a batch and its problem rows."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.core.accesslog import AccessLogDep
from app.core.database import SessionDep
from app.core.errors import NotAcceptable, problem_response
from app.core.idempotency import IdempotencyKeyHeader
from app.core.negotiation import negotiate
from app.core.pagination import CursorQuery, LimitQuery, Page
from app.core.responses import json_response
from app.core.routing import api_router, problems
from app.rosters import contract, errors_xlsx, jobs, service, views
from app.rosters.auth import BatchProblemsRead, BatchRead, RostersWrite
from app.rosters.jobs import LauncherDep
from app.rosters.options import SNIFFED_CONTENT_TYPES, RosterParams
from app.rosters.schemas import RosterBatchRead, RosterMode, RosterRowProblem, counts_of

router = api_router(prefix="/v1", tags=["rosters"], lifespan=jobs.lifespan)
REPLAYED_HEADER = "Idempotent-Replayed"

PUSH_DESCRIPTION = """
Registers a roster of officers under the agreement, from its counterpart (the KPU or Bawaslu
office) or an operator, while the agreement is `active`.

**Bodies** (by `Content-Type`):
- `application/json`: `{"mode": "upsert", "atomic": false, "officers": [{...}, ...]}` or a list;
- `application/x-ndjson`: one officer object per line;
- `text/csv`: `,` or `;`, UTF-8 with or without BOM; headers in English or Indonesian (`NIK`,
  `NAMA`, `TGL LAHIR`, `JENIS KELAMIN`, `JABATAN`, `KODE WILAYAH` or `KECAMATAN` + `DESA`, `TPS`,
  `NO HP`, `TMT`, `TANGGAL SELESAI`, `NIK DIGANTI`), found below a title block if need be;
- `application/vnd.openxmlformats-officedocument.spreadsheetml.sheet` (XLSX): the first sheet,
  or `?sheet=`; at most 128 MiB expanded per part and 6,000,000 cells (rows x columns) a sheet;
- `multipart/form-data` with one file part (`curl -F file=@roster.xlsx`, a browser form,
  Postman's form-data): the file is read as below; options go in the query string;
- `application/octet-stream`, `application/x-www-form-urlencoded` (what `curl --data-binary`
  sends), `application/vnd.ms-excel` (a .csv from a Windows browser), `text/plain`, or none:
  the format is read from the bytes (a zip with `xl/workbook.xml` is XLSX, `[` or `{` JSON or
  NDJSON, other text CSV). Any other type is 415 with the accepted ones in `Accept-Post`.

An officer: `nik`, `full_name`, `birth_date`, `sex` (L/P), `phone`, `role` (or a JABATAN like
"Ketua KPPS"), `position`, `region_code` (or district and village names), `tps`,
`coverage_start`/`coverage_end` (default: the cohort's period), `replaces_nik` (a PAW).

**Outcomes** per row: `created`, `updated`, `unchanged`, `replaced` (the replaced officer ends
the day before), `held` (overlaps another protecting registration of the NIK: stored, not
protecting, for the BPJS branch to resolve), `rejected` (with codes). `mode=replace` also ends,
the day before `as_of` (default today, Asia/Jakarta), the active registrations of the cohorts in
the file whose NIK is not in it. `atomic=true`: any rejected row and nothing is applied; the
answer is 422 `roster_rejected` with the batch id, and the batch is kept with its errors (the
rejected rows' NIKs and cells for `ROSTER_ERRORS_RETENTION_HOURS`, 72 by default, then purged).
A cell holding a NUL byte rejects its row (`nul_character`); an unterminated CSV quote is 422
`roster_malformed`.

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
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The roster: XLSX, CSV, JSON or NDJSON",
                        }
                    },
                },
                "example": {"file": "NIK;NAMA LENGKAP;JABATAN\r\n1209186702038780;Ani;KPPS\r\n"},
            },
            **{
                sniffed: {
                    "schema": {
                        "type": "string",
                        "format": "binary",
                        "description": "The roster file; its format is read from its bytes",
                    }
                }
                for sniffed in SNIFFED_CONTENT_TYPES
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


ERRORS_DESCRIPTION = f"""
The rows of a batch that need the office's eye: rejected, held, and taken with NIK warnings
(`warnings`: a birth date or sex the NIK contradicts, a district code no longer in the region
table). By `Accept`:
- `application/json` (default): pages in row order;
- `text/csv`: every such row with its original columns plus `baris` (row), `hasil` (ditolak,
  ditahan, diterima...), `kode` (codes), `alasan` (reasons) and `peringatan` (warnings), in the
  upload's delimiter, UTF-8 with BOM; NIK, phone and TPS cells written as `="..."` so that
  Excel keeps them as text, and any other cell starting with `= + - @` prefixed with `'`;
- `{errors_xlsx.MEDIA_TYPE}`: the same as a workbook, NIK, phone and TPS columns as text.

Anything else is 406. Scopes: `rosters:write` or `pii:read` (the rows hold NIKs and names).
Every NIK shown is written to the access log with the key that read it (UU 27/2022). A refused
atomic roster's rows lose their NIKs and cells after `ROSTER_ERRORS_RETENTION_HOURS` (see the
batch's `errors_purged_at`).
"""


@router.get(
    "/roster-batches/{batch_id}/errors",
    response_model=Page[RosterRowProblem],
    summary="The problem rows of a batch, as JSON pages or as CSV or XLSX for Excel",
    description=ERRORS_DESCRIPTION,
    responses={
        200: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                errors_xlsx.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        },
        **problems(403, 404, 406),
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
    export = negotiate(accept, views.ERRORS_MEDIA_TYPES, views.ErrorsFormat.JSON)
    if export is None:
        raise NotAcceptable(
            "The errors are served as application/json, text/csv or " + errors_xlsx.MEDIA_TYPE
        )
    if export is views.ErrorsFormat.JSON:
        return await views.list_problems(
            session, principal, batch_id, limit=limit, cursor=cursor, access_log=access_log
        )
    batch, body = await views.problems_file(
        session,
        principal,
        batch_id,
        export=export,
        sessionmaker=request.app.state.sessionmaker,
        access_log=access_log,
    )
    media_type = (
        errors_xlsx.MEDIA_TYPE if export is views.ErrorsFormat.XLSX else "text/csv; charset=utf-8"
    )
    filename = f"roster-{batch.id}-errors.{export.value}"
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
