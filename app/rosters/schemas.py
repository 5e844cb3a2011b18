"""Response bodies of the rosters domain: a batch, and its rejected and held rows."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field

OUTCOMES = ("created", "updated", "unchanged", "replaced", "held", "rejected", "terminated")


class RosterMode(StrEnum):
    UPSERT = "upsert"
    REPLACE = "replace"


class BatchCounts(BaseModel):
    """Rows per outcome; `terminated` counts registrations a replace-mode roster ended."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    replaced: int = 0
    held: int = 0
    rejected: int = 0
    terminated: int = 0


class BatchError(BaseModel):
    code: str = Field(description="`interrupted`, `roster_rejected`, or a file-level code")
    detail: str | None = None


class BatchWarning(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["over_planned_headcount"])


class RosterBatchRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "5b0c8f5e-2f7a-4a8e-9d7e-2c1f4d1e9a10",
                    "agreement_id": "0f6a3c1e-7b1d-4a53-8d0c-3f1e2d4c5b6a",
                    "status": "completed",
                    "format": "csv",
                    "mode": "upsert",
                    "atomic": False,
                    "applied": True,
                    "as_of": "2024-11-20",
                    "idempotency_key": "kpps-asahan-2024-11-20",
                    "total_rows": 60,
                    "processed_rows": 60,
                    "counts": {
                        "created": 57,
                        "updated": 0,
                        "unchanged": 0,
                        "replaced": 1,
                        "held": 1,
                        "rejected": 1,
                        "terminated": 0,
                    },
                    "warnings": [],
                    "columns": ["NIK", "NAMA LENGKAP", "TGL LAHIR", "JABATAN"],
                    "delimiter": ";",
                    "error": None,
                    "timings": {"read_seconds": 0.02, "apply_seconds": 0.03},
                    "created_at": "2024-11-20T03:15:00Z",
                    "started_at": "2024-11-20T03:15:00Z",
                    "finished_at": "2024-11-20T03:15:01Z",
                    "errors_purged_at": None,
                    "errors_url": "/v1/roster-batches/5b0c8f5e-2f7a-4a8e-9d7e-2c1f4d1e9a10/errors",
                }
            ]
        },
    )

    id: uuid.UUID
    agreement_id: uuid.UUID
    status: str = Field(description="`received`, `processing`, `completed` or `failed`")
    format: str = Field(description="`json`, `ndjson`, `csv` or `xlsx`")
    mode: RosterMode
    atomic: bool
    applied: bool = Field(description="Whether the rows took effect (false for a refused batch)")
    as_of: date | None = Field(
        default=None,
        validation_alias="file_date",
        description="The roster's date: replace mode ends the missing the day before",
    )
    idempotency_key: str | None
    total_rows: int
    processed_rows: int
    counts: BatchCounts
    warnings: list[BatchWarning]
    columns: list[str] | None
    delimiter: str | None
    error_code: str | None = Field(default=None, validation_alias="error", exclude=True)
    error_detail: str | None = Field(default=None, exclude=True)
    timings: dict[str, float]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    errors_purged_at: datetime | None = Field(
        default=None,
        description="A refused roster (atomic, 422) keeps its rejected rows' NIKs and cells "
        "for the errors file for `ROSTER_ERRORS_RETENTION_HOURS` (72) after it finished; then "
        "they are purged, and this says when",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def error(self) -> BatchError | None:
        if self.error_code is None:
            return None
        return BatchError(code=self.error_code, detail=self.error_detail)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def errors_url(self) -> str:
        return f"/v1/roster-batches/{self.id}/errors"


class RowWarning(BaseModel):
    code: str = Field(examples=["nik_birth_date_mismatch"])
    msg: str


class RosterRowProblem(BaseModel):
    """A row that was rejected (nothing stored), held (stored, not protecting, to review), or
    taken with NIK warnings (`created`, `updated`, `unchanged` or `replaced`)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "row_number": 14,
                    "outcome": "rejected",
                    "nik": "120918670203878",
                    "codes": ["nik_format"],
                    "messages": ["NIK harus 16 digit angka"],
                    "original": ["120918670203878", "Ani Setiawan", "27-02-2003", "Ketua KPPS"],
                }
            ]
        },
    )

    row_number: int = Field(description="The row as the office sees it in Excel")
    outcome: str = Field(
        description="`rejected`, `held`, or the outcome of a row taken with `warnings`"
    )
    nik: str | None = Field(
        description="The NIK as written in the file (null once a refused roster's rows are purged)"
    )
    codes: list[str] = Field(description="Why it was rejected or held; empty for a row taken")
    messages: list[str] = Field(description="The codes' sentences (Indonesian), naming the column")
    original: list[str] = Field(
        description="The row's cells, in the batch's `columns` order (empty once purged)"
    )
    warnings: list[RowWarning] = Field(
        default_factory=list,
        description="NIK warnings: `nik_birth_date_mismatch`, `nik_sex_mismatch`, "
        "`nik_region_unknown` (the row is taken all the same)",
    )


def counts_of(raw: dict[str, Any]) -> BatchCounts:
    return BatchCounts(**{k: int(v) for k, v in raw.items() if k in OUTCOMES})
