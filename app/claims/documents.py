"""The documents a claim needs (DESIGN rule 9): the catalog of kinds and each claim's checklist."""

# kind -> what it is, as the field calls it. Kinds outside a claim's checklist may still be
# recorded on it (as not required), e.g. a doctor's certificate for a disability.
KINDS: dict[str, str] = {
    "death_certificate": "Akta kematian / surat keterangan kematian",
    "heirship_letter": "Surat keterangan ahli waris",
    "ktp_deceased": "KTP peserta yang meninggal",
    "ktp_heir": "KTP ahli waris",
    "family_card": "Kartu Keluarga (KK)",
    "bank_book": "Buku tabungan penerima",
    "kk1": "Formulir KK1: laporan kecelakaan kerja tahap I (2 x 24 jam)",
    "kk2": "Formulir KK2: laporan kecelakaan kerja tahap II (akibat kecelakaan)",
    "chronology": "Kronologi kejadian",
    "duty_letter": "Surat tugas",
    "attendance_record": "Daftar hadir / absensi",
    "police_report": "Laporan polisi (kecelakaan lalu lintas)",
    "medical_receipts": "Kuitansi biaya perawatan dan pengobatan",
    "transport_receipts": "Kuitansi biaya transportasi",
    "medical_certificate": "Surat keterangan dokter",
}

JKM_DOCUMENTS = (
    "death_certificate",
    "heirship_letter",
    "ktp_deceased",
    "ktp_heir",
    "family_card",
    "bank_book",
)
# KK2 reports the outcome of the accident; a claim is filed with its outcome known, so it is
# always required.
JKK_DOCUMENTS = ("kk1", "kk2", "chronology", "duty_letter", "attendance_record")
# Paid to the heirs: the same proof of death and heirship as JKM.
JKK_DEATH_DOCUMENTS = ("death_certificate", "heirship_letter")


def checklist(
    *,
    program: str,
    incident_type: str,
    outcome: str,
    medical_claimed: int = 0,
    transport_claimed: int = 0,
) -> list[str]:
    """The required document kinds of a claim, in the order a reviewer goes through them."""
    if program == "JKM":
        return list(JKM_DOCUMENTS)
    kinds = list(JKK_DOCUMENTS)
    if incident_type == "commuting_accident":
        kinds.append("police_report")
    if outcome == "death":
        kinds.extend(JKK_DEATH_DOCUMENTS)
    if medical_claimed > 0:
        kinds.append("medical_receipts")
    if transport_claimed > 0:
        kinds.append("transport_receipts")
    return kinds
