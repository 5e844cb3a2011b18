"""The demo's organizations, keys and agreements: the five reported agreements of late 2024.

The press gives some cohorts as one total; the splits below are ours (see DEMO_AGREEMENTS).
Agreement numbers are invented (DEMO/...), and so are signing dates where the press gives none.
"""

from dataclasses import dataclass, field
from datetime import date

from app.agreements.schemas import CohortCreate
from app.models import OrganizationKind

# key -> (kind, name, region)
DEMO_ORGANIZATIONS: dict[str, tuple[OrganizationKind, str, str]] = {
    "bpjs_kisaran": (OrganizationKind.BPJS_BRANCH, "BPJS Ketenagakerjaan Cabang Kisaran", "12.09"),
    "bpjs_muara_enim": (
        OrganizationKind.BPJS_BRANCH,
        "BPJS Ketenagakerjaan Cabang Muara Enim",
        "16.03",
    ),
    "bpjs_maluku": (OrganizationKind.BPJS_BRANCH, "BPJS Ketenagakerjaan Cabang Maluku", "81"),
    "bpjs_bengkulu": (
        OrganizationKind.BPJS_BRANCH,
        "BPJS Ketenagakerjaan Perwakilan Bengkulu",
        "17",
    ),
    "kpu_asahan": (OrganizationKind.KPU, "KPU Kabupaten Asahan", "12.09"),
    "bawaslu_asahan": (OrganizationKind.BAWASLU, "Bawaslu Kabupaten Asahan", "12.09"),
    "bawaslu_pali": (
        OrganizationKind.BAWASLU,
        "Bawaslu Kabupaten Penukal Abab Lematang Ilir",
        "16.12",
    ),
    "kpu_muara_enim": (OrganizationKind.KPU, "KPU Kabupaten Muara Enim", "16.03"),
    "bawaslu_muara_enim": (OrganizationKind.BAWASLU, "Bawaslu Kabupaten Muara Enim", "16.03"),
    "pemkab_muara_enim": (
        OrganizationKind.GOVERNMENT,
        "Pemerintah Kabupaten Muara Enim",
        "16.03",
    ),
    "bawaslu_ambon": (OrganizationKind.BAWASLU, "Bawaslu Kota Ambon", "81.71"),
    "kpu_bengkulu": (OrganizationKind.KPU, "KPU Provinsi Bengkulu", "17"),
    "bawaslu_bengkulu": (OrganizationKind.BAWASLU, "Bawaslu Provinsi Bengkulu", "17"),
    "pemprov_bengkulu": (OrganizationKind.GOVERNMENT, "Pemerintah Provinsi Bengkulu", "17"),
    "integrator": (OrganizationKind.INTEGRATOR, "RSUD Kisaran (demo integrator)", "12.09"),
}

# One key per organization kind: (organization, scopes).
DEMO_KEYS: dict[str, tuple[str, list[str]]] = {
    "bpjs_branch": (
        "bpjs_kisaran",
        [
            "agreements:write",
            "agreements:read",
            "registrations:read",
            "coverage:read",
            "pii:read",
            "claims:write",
            "claims:review",
            "reports:read",
            "events:read",
            "webhooks:write",
        ],
    ),
    "kpu": (
        "kpu_asahan",
        [
            "agreements:read",
            "rosters:write",
            "registrations:read",
            "pii:read",
            "claims:write",
            "reports:read",
            "events:read",
            "webhooks:write",
        ],
    ),
    "bawaslu": (
        "bawaslu_asahan",
        [
            "agreements:read",
            "rosters:write",
            "registrations:read",
            "pii:read",
            "claims:write",
            "reports:read",
            "events:read",
            "webhooks:write",
        ],
    ),
    # The payer records payments (agreements:write) and may file claims for the officers it pays.
    "government": (
        "pemkab_muara_enim",
        [
            "agreements:read",
            "agreements:write",
            "registrations:read",
            "claims:write",
            "reports:read",
            "events:read",
            "webhooks:write",
        ],
    ),
    "integrator": ("integrator", ["coverage:read"]),
}

PEMILU = "pemilu-2024"
PILKADA = "pilkada-2024"
PEMILU_ADHOC = (date(2023, 11, 1), date(2024, 2, 29))  # Nov 2023 - Feb 2024
PILKADA_ADHOC = (date(2024, 11, 1), date(2024, 12, 31))  # Nov - Dec 2024


@dataclass(frozen=True)
class DemoCohort:
    role: str
    headcount: int
    period: tuple[date, date] = PILKADA_ADHOC
    election: str | None = None  # default: the agreement's (Pilkada 2024)

    def create(self) -> CohortCreate:
        return CohortCreate(
            role=self.role,
            planned_headcount=self.headcount,
            coverage_start=self.period[0],
            coverage_end=self.period[1],
            election=self.election,
        )


@dataclass(frozen=True)
class DemoAgreement:
    number: str
    branch: str
    counterpart: str
    region_code: str
    signed_on: date
    cohorts: tuple[DemoCohort, ...]
    payer: str | None = None
    signed_place: str | None = None
    # cohorts added once the agreement is active (PALI's PTPS, after their inauguration)
    added_later: tuple[DemoCohort, ...] = field(default_factory=tuple)


ASAHAN_SIGNED_ON = date(2024, 11, 11)
ASAHAN_SIGNED_PLACE = "Aula Kejaksaan Negeri Asahan"

# Splits of press totals (ours): Asahan has 25 kecamatan and 204 desa/kelurahan, so 1,424 =
# PPK 5x25 + Sekretariat PPK 3x25 + PPS 3x204 + Sekretariat PPS 3x204, and Bawaslu's 275 =
# Panwascam 3x25 + technical staff 6x25 + support 2x25. PALI (5 kecamatan, 71 desa): 124 =
# Panwascam 15 + secretariat 38 + PKD 71. Muara Enim (22 kecamatan, 256 desa, 1,789 TPS taken):
# KPU 110 + 768 + 12,523 = 13,401 ("about 13,400"); Bawaslu 66 + 63 + 256 + 1,789 = 2,174.
# Ambon (5 kecamatan, 50 desa): 15 + 5 + 50 + 20 + 769 PTPS = 859. Bengkulu (129 kecamatan,
# 1,513 desa, 3,900 TPS taken): sizes from those counts; the press gives none.
DEMO_AGREEMENTS: tuple[DemoAgreement, ...] = (
    DemoAgreement(
        number="DEMO/PKS/KSR/KPU-ASAHAN/XI/2024",
        branch="bpjs_kisaran",
        counterpart="kpu_asahan",
        region_code="12.09",
        signed_on=ASAHAN_SIGNED_ON,
        signed_place=ASAHAN_SIGNED_PLACE,
        cohorts=(
            DemoCohort("PPK", 125, PEMILU_ADHOC, PEMILU),
            DemoCohort("SEKRETARIAT_PPK", 75, PEMILU_ADHOC, PEMILU),
            DemoCohort("PPS", 612, PEMILU_ADHOC, PEMILU),
            DemoCohort("SEKRETARIAT_PPS", 612, PEMILU_ADHOC, PEMILU),
            DemoCohort("KPPS", 12_465),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/KSR/BAWASLU-ASAHAN/XI/2024",
        branch="bpjs_kisaran",
        counterpart="bawaslu_asahan",
        region_code="12.09",
        signed_on=ASAHAN_SIGNED_ON,
        signed_place=ASAHAN_SIGNED_PLACE,
        cohorts=(
            DemoCohort("PANWASCAM", 75, PEMILU_ADHOC, PEMILU),
            DemoCohort("SEKRETARIAT_PANWASCAM", 150, PEMILU_ADHOC, PEMILU),
            DemoCohort("TENAGA_PENDUKUNG", 50, PEMILU_ADHOC, PEMILU),
            DemoCohort("PKD", 204, (date(2023, 11, 1), date(2024, 1, 31)), PEMILU),
            DemoCohort("PTPS", 1_385),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/MRE/BAWASLU-PALI/X/2024",
        branch="bpjs_muara_enim",
        counterpart="bawaslu_pali",
        region_code="16.12",
        signed_on=date(2024, 10, 28),  # the reported meeting
        cohorts=(
            DemoCohort("PANWASCAM", 15),
            DemoCohort("SEKRETARIAT_PANWASCAM", 38),
            DemoCohort("PKD", 71),
        ),
        added_later=(DemoCohort("PTPS", 229, (date(2024, 11, 15), date(2024, 12, 31))),),
    ),
    DemoAgreement(
        number="DEMO/PKS/MRE/KPU-MUARA-ENIM/2024",
        branch="bpjs_muara_enim",
        counterpart="kpu_muara_enim",
        payer="pemkab_muara_enim",
        region_code="16.03",
        signed_on=date(2024, 10, 30),
        cohorts=(DemoCohort("PPK", 110), DemoCohort("PPS", 768), DemoCohort("KPPS", 12_523)),
    ),
    DemoAgreement(
        number="DEMO/PKS/MRE/BAWASLU-MUARA-ENIM/2024",
        branch="bpjs_muara_enim",
        counterpart="bawaslu_muara_enim",
        payer="pemkab_muara_enim",
        region_code="16.03",
        signed_on=date(2024, 10, 30),
        cohorts=(
            DemoCohort("PANWASCAM", 66),
            DemoCohort("SEKRETARIAT_PANWASCAM", 63),
            DemoCohort("PKD", 256),
            DemoCohort("PTPS", 1_789),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/AMQ/BAWASLU-AMBON/2024",
        branch="bpjs_maluku",
        counterpart="bawaslu_ambon",
        region_code="81.71",
        signed_on=date(2024, 10, 31),
        cohorts=(
            DemoCohort("PANWASCAM", 15),
            DemoCohort("KASEKCAM", 5),
            DemoCohort("PKD", 50),
            DemoCohort("TENAGA_PENDUKUNG", 20),
            DemoCohort("PTPS", 769),
        ),
    ),
    DemoAgreement(
        number="DEMO/PKS/BKL/KPU-BENGKULU/2024",
        branch="bpjs_bengkulu",
        counterpart="kpu_bengkulu",
        payer="pemprov_bengkulu",
        region_code="17",
        signed_on=date(2024, 10, 31),
        cohorts=(DemoCohort("PPK", 645), DemoCohort("PPS", 4_539), DemoCohort("KPPS", 27_300)),
    ),
    DemoAgreement(
        number="DEMO/PKS/BKL/BAWASLU-BENGKULU/2024",
        branch="bpjs_bengkulu",
        counterpart="bawaslu_bengkulu",
        payer="pemprov_bengkulu",
        region_code="17",
        signed_on=date(2024, 10, 31),
        cohorts=(DemoCohort("PANWASCAM", 387), DemoCohort("PKD", 1_513), DemoCohort("PTPS", 3_900)),
    ),
)
