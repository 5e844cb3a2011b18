"""Reports as CSV or XLSX downloads for the offices that work in Excel, chosen by `Accept`.

CSV is written for Excel set to Indonesian: UTF-8 with a byte-order mark (or Excel guesses the
encoding wrong), `;` between fields and a decimal comma (`83,3`), because with an Indonesian
locale the comma is the decimal separator and Excel splits on `;`. Integers carry no thousands
separator. XLSX is written with openpyxl in write-only mode, numbers as numbers. A report with
several tables is one XLSX sheet per table, and in CSV the tables one after another, each under
a line with its title and separated by an empty line.
"""

import csv
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from fastapi.responses import Response
from openpyxl import Workbook
from starlette.concurrency import run_in_threadpool

from app.contributions.schemas import (
    BalanceRead,
    ContributionsRead,
    EnrolmentReport,
    SummaryRead,
)
from app.core import negotiation
from app.core.routing import problems

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_DELIMITER = ";"
BOM = "\ufeff"
ReportT = TypeVar("ReportT")


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


MEDIA_TYPES = {
    "application/json": ExportFormat.JSON,
    "application/*": ExportFormat.JSON,
    "*/*": ExportFormat.JSON,
    CSV_MEDIA_TYPE: ExportFormat.CSV,
    "text/*": ExportFormat.CSV,
    XLSX_MEDIA_TYPE: ExportFormat.XLSX,
}


def negotiate(accept: str | None) -> ExportFormat:
    """The format the `Accept` header prefers (by q, then by order); JSON when none is known."""
    return negotiation.negotiate(accept, MEDIA_TYPES, ExportFormat.JSON) or ExportFormat.JSON


@dataclass
class Table:
    """One table of a report: an XLSX sheet, a block of a CSV file."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, float | Decimal):
        return format(value, "f").rstrip("0").rstrip(".").replace(".", ",") or "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(tables: list[Table]) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, lineterminator="\r\n")
    titled = len(tables) > 1
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        if titled:
            writer.writerow([table.title])
        writer.writerow(table.headers)
        writer.writerows([_csv_cell(value) for value in row] for row in table.rows)
    return buffer.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def to_xlsx(tables: list[Table]) -> bytes:
    workbook = Workbook(write_only=True)
    for table in tables:
        sheet = workbook.create_sheet(title=table.title[:31])
        sheet.append(table.headers)
        for row in table.rows:
            sheet.append([_xlsx_cell(value) for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def safe_filename(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(p for p in parts if p)).strip("-")


async def download(tables: list[Table], export: ExportFormat, filename: str) -> Response:
    """The tables as a CSV or XLSX attachment named `filename` (without its extension)."""
    if export is ExportFormat.CSV:
        body, media, suffix = to_csv(tables), f"{CSV_MEDIA_TYPE}; charset=utf-8", "csv"
    else:
        body = await run_in_threadpool(to_xlsx, tables)
        media, suffix = XLSX_MEDIA_TYPE, "xlsx"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{suffix}"'},
    )


async def answer(
    report: ReportT, accept: str | None, tables: Callable[[ReportT], list[Table]], *name: str
) -> ReportT | Response:
    """The report as JSON, or its `tables` as the download `Accept` asks for, named by `name`."""
    export = negotiate(accept)
    if export is ExportFormat.JSON:
        return report
    return await download(tables(report), export, safe_filename(*name))


def report_responses(*statuses: int, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a report: JSON by default, CSV or XLSX by `Accept`, plus problems."""
    return {
        200: {
            "description": description
            + " JSON by default; `Accept: text/csv` gives CSV (UTF-8 with BOM, `;`, decimal "
            "comma) and `Accept: " + XLSX_MEDIA_TYPE + "` an XLSX workbook, both with "
            "Indonesian column headers.",
            "content": {
                CSV_MEDIA_TYPE: {"schema": {"type": "string"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problems(*statuses),
    }


TOTAL_LABEL = "JUMLAH"
CLAIM_STATUS_LABELS = {
    "submitted": "diajukan",
    "verified": "diverifikasi",
    "approved": "disetujui",
    "paid": "dibayar",
    "rejected": "ditolak",
}
COUNT_HEADERS = ["Aktif", "Ditahan", "Berhenti/Diganti", "Ditolak"]


def contributions_tables(report: ContributionsRead) -> list[Table]:
    table = Table(
        "Iuran",
        [
            "Peran",
            "Bulan",
            "Jumlah Petugas-Bulan",
            "Iuran JKK",
            "Iuran JKM",
            "Total",
            "ID Kelompok",
        ],
    )
    for line in report.lines:
        table.rows.append(
            [
                line.role,
                line.month,
                line.officer_months,
                line.jkk,
                line.jkm,
                line.total,
                line.cohort_id,
            ]
        )
    t = report.totals
    table.rows.append([TOTAL_LABEL, None, t.officer_months, t.jkk, t.jkm, t.total, None])
    return [table]


def balance_tables(report: BalanceRead) -> list[Table]:
    table = Table("Saldo", ["Bulan", "Iuran Terutang", "Dibayar", "Kurang Bayar", "Lebih Bayar"])
    for month in report.months:
        table.rows.append([month.month, month.due, month.paid, month.outstanding, month.credit])
    t = report.totals
    table.rows.append([TOTAL_LABEL, t.due, t.paid, t.outstanding, t.credit])
    return [table]


def summary_tables(report: SummaryRead) -> list[Table]:
    cohorts = Table(
        "Kelompok",
        ["Peran", "Mulai", "Selesai", "Direncanakan", *COUNT_HEADERS, "Persentase"],
    )
    for c in report.cohorts:
        cohorts.rows.append(
            [
                c.role,
                c.coverage_start,
                c.coverage_end,
                c.planned,
                c.active,
                c.held,
                c.terminated,
                c.rejected,
                c.percentage,
            ]
        )
    t = report.totals
    cohorts.rows.append(
        [
            TOTAL_LABEL,
            None,
            None,
            t.planned,
            t.active,
            t.held,
            t.terminated,
            t.rejected,
            t.percentage,
        ]
    )
    districts = Table("Kecamatan", ["Kode Wilayah", "Kecamatan", *COUNT_HEADERS])
    for d in report.districts:
        districts.rows.append(
            [d.district_code, d.district_name, d.active, d.held, d.terminated, d.rejected]
        )
    districts.rows.append(
        [
            TOTAL_LABEL,
            None,
            sum(d.active for d in report.districts),
            sum(d.held for d in report.districts),
            sum(d.terminated for d in report.districts),
            sum(d.rejected for d in report.districts),
        ]
    )
    money = report.contributions
    contributions = Table("Iuran", ["Iuran Terutang", "Dibayar", "Kurang Bayar", "Lebih Bayar"])
    contributions.rows.append([money.due, money.paid, money.outstanding, money.credit])
    claims = Table("Klaim", ["Program", "Status", "Jumlah Klaim", "Nilai Manfaat", "Hak Beasiswa"])
    for claim in report.claims:
        claims.rows.append(
            [
                claim.program,
                CLAIM_STATUS_LABELS.get(claim.status, claim.status),
                claim.count,
                claim.payable,
                claim.entitlement,
            ]
        )
    return [cohorts, districts, contributions, claims]


def enrolment_tables(report: EnrolmentReport) -> list[Table]:
    table = Table(
        "Kepesertaan",
        [
            "Kode Wilayah",
            "Kabupaten/Kota",
            "Jumlah PKS",
            "Direncanakan",
            "Terdaftar",
            "Rasio Cakupan",
        ],
    )
    for row in report.rows:
        table.rows.append(
            [
                row.region_code,
                row.region_name,
                row.agreements,
                row.planned,
                row.registered,
                row.coverage_ratio,
            ]
        )
    t = report.totals
    table.rows.append(
        [
            TOTAL_LABEL,
            report.region_name or "Indonesia",
            t.agreements,
            t.planned,
            t.registered,
            t.coverage_ratio,
        ]
    )
    return [table]
