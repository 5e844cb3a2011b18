"""The words operators read for the API's codes (statuses, reasons, outcomes), in Indonesian."""

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

LABELS = {
    # agreements
    "draft": "draf",
    "active": "aktif",
    "ended": "berakhir",
    "cancelled": "dibatalkan",
    # registrations
    "held": "ditahan",
    "terminated": "dihentikan",
    "replaced": "diganti (PAW)",
    "rejected": "ditolak",
    # roster batches and rows
    "received": "diterima",
    "processing": "diproses",
    "completed": "selesai",
    "failed": "gagal",
    "created": "baru",
    "updated": "diperbarui",
    "unchanged": "tidak berubah",
    # coverage reasons
    "not_registered": "tidak terdaftar",
    "not_started": "perlindungan belum mulai",
    "transferred": "dialihkan",
    # claims
    "submitted": "diajukan",
    "verified": "diverifikasi",
    "approved": "disetujui",
    "paid": "dibayar",
    "work_accident": "kecelakaan kerja",
    "commuting_accident": "kecelakaan perjalanan",
    "death": "meninggal dunia",
    "occupational_disease": "penyakit akibat kerja",
    "treatment": "perawatan",
    "temporary_incapacity": "tidak mampu bekerja sementara",
    "partial_disability": "cacat sebagian",
    "total_permanent_disability": "cacat total tetap",
    # bodies
    "kpu": "KPU",
    "bawaslu": "Bawaslu",
    # resolving held registrations
    "reject": "tolak registrasi ini",
    "transfer": "alihkan perlindungan ke registrasi ini",
}


def label(code: object) -> str:
    """The Indonesian word for a code; the code itself when it is a term of the field (PPK,
    JKK) or has none."""
    text = str(code)
    return LABELS.get(text, text)
