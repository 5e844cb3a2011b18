"""Rendering console pages: the Jinja2 templates, the security headers, forms, and errors in
Bahasa Indonesia (each with the API's stable code beside it)."""

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.console.labels import MONTHS, label
from app.core.clock import day_of
from app.core.errors import AppError, PayloadTooLarge, UnsupportedMediaType

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
# Nothing from another host, no inline script or style, no framing, forms post only here.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def rupiah(value: int | None) -> str:
    return "-" if value is None else "Rp" + f"{value:,}".replace(",", ".")


def number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}".replace(",", ".")


def tanggal(value: date | datetime | str | None) -> str:
    """A date as 11 Nov 2024; a moment by its day in Jakarta."""
    if value is None:
        return "-"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if len(value) > 10 else date.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = day_of(value)
    return f"{value.day} {MONTHS[value.month - 1][:3]} {value.year}"


def month_name(value: str) -> str:
    """`2024-11` as Nov 2024."""
    year, month = value.split("-")
    return f"{MONTHS[int(month) - 1][:3]} {year}"


templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    rupiah=rupiah, number=number, tanggal=tanggal, month=month_name, label=label
)


def page(
    request: Request, name: str, context: Mapping[str, Any], *, status: int = 200
) -> HTMLResponse:
    html = templates.get_template(name).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def secure(response: Response) -> Response:
    for header, value in SECURITY_HEADERS.items():
        response.headers.setdefault(header, value)
    return response


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields (the first value of each); 415 for another body, 413 past
    MAX_FORM_BYTES."""
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media != FORM_TYPE:
        raise UnsupportedMediaType("Kirim formulir sebagai " + FORM_TYPE)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge("Formulir terlalu besar")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        raise UnsupportedMediaType("Formulir tidak dapat dibaca") from None
    return {name: values[0] for name, values in fields.items()}


# What an operator reads for each stable code the services raise (the code is shown too).
MESSAGES = {
    "not_found": "Data tidak ditemukan atau bukan milik organisasi Anda.",
    "agreement_not_found": "Perjanjian tidak ditemukan atau bukan milik organisasi Anda.",
    "registration_not_found": "Registrasi tidak ditemukan atau bukan milik organisasi Anda.",
    "roster_batch_not_found": "Unggahan tidak ditemukan atau bukan milik organisasi Anda.",
    "claim_not_found": "Klaim tidak ditemukan atau bukan milik organisasi Anda.",
    "missing_scope": "Kunci API Anda tidak memiliki izin untuk ini.",
    "unauthorized": "Kunci API tidak valid.",
    "key_revoked": "Kunci API ini sudah dicabut.",
    "console_admin_key_refused": "ADMIN_API_KEY tidak dapat dipakai di konsol; gunakan kunci "
    "API sebuah organisasi.",
    "csrf_token_invalid": "Formulir kedaluwarsa atau tidak sah. Muat ulang halaman lalu kirim "
    "lagi.",
    "unsupported_media_type": "Jenis data yang dikirim tidak didukung.",
    "payload_too_large": "Data yang dikirim terlalu besar.",
    "validation_error": "Isian formulir tidak valid.",
    "invalid_text": "Isian memuat karakter yang tidak dapat disimpan.",
    "invalid_value": "Ada isian yang di luar batas atau tidak valid.",
    "invalid_nik": "NIK harus 16 angka.",
    "invalid_date": "Tanggal tidak valid; gunakan format TTTT-BB-HH.",
    "field_required": "Ada isian wajib yang kosong.",
    "not_held": "Registrasi ini tidak lagi ditahan.",
    "not_agreement_branch": "Hanya Kantor Cabang BPJS perjanjian ini yang dapat memutuskan.",
    "transfer_conflict": "Pengalihan tidak dapat dilakukan: registrasi lain masih bertumpang "
    "tindih.",
    "not_reviewer": "Hanya Kantor Cabang BPJS perjanjian ini yang meninjau klaimnya.",
    "invalid_transition": "Perpindahan status ini tidak diizinkan.",
    "precondition_failed": "Klaim sudah diubah orang lain sejak halaman dibuka. Muat ulang "
    "lalu coba lagi.",
    "precondition_required": "Versi klaim tidak dikirim. Muat ulang halaman.",
    "documents_missing": "Dokumen wajib belum lengkap.",
    "note_required": "Tulis alasan penolakan di catatan.",
    "payment_details_required": "Pembayaran memerlukan tanggal bayar dan nomor transfer.",
    "payment_details_not_allowed": "Tanggal bayar dan nomor transfer hanya untuk status dibayar.",
    "paid_on_in_future": "Tanggal bayar tidak boleh di masa depan.",
    "paid_on_invalid": "Tanggal bayar tidak boleh sebelum kejadian.",
    "not_counterpart": "Hanya mitra perjanjian (kantor KPU atau Bawaslu) yang mengunggah "
    "daftar petugas.",
    "agreement_not_active": "Perjanjian tidak aktif; daftar petugas tidak dapat diterima.",
    "roster_empty": "Berkas kosong.",
    "console_choice_invalid": "Pilihan tidak dikenal.",
}


def message_of(error: AppError) -> str:
    return MESSAGES.get(error.code, error.detail)


def error_page(request: Request, error: AppError, user: Any = None) -> HTMLResponse:
    status = error.status if 400 <= error.status < 600 else 400
    context = {"error": error, "message": message_of(error), "user": user}
    return page(request, "error.html", context, status=status)
