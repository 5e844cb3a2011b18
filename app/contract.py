"""What the OpenAPI document says beyond its routes: the description with a glossary of the
field's terms, a description for every tag, the servers and the version."""

from importlib.metadata import version

# (term, the Indonesian it stands for, what it is), in the order a partner meets them.
GLOSSARY = (
    (
        "BPJS Ketenagakerjaan",
        "Badan Penyelenggara Jaminan Sosial Ketenagakerjaan",
        "The state social-security agency for workers. Its branch offices (Kantor Cabang) sign "
        "agreements, bill contributions and pay claims.",
    ),
    (
        "KPU",
        "Komisi Pemilihan Umum",
        "The General Elections Commission, which runs elections; an office per province and per "
        "regency or city.",
    ),
    (
        "Bawaslu",
        "Badan Pengawas Pemilihan Umum",
        "The Election Supervisory Agency, which oversees them; offices at the same levels.",
    ),
    (
        "Pemilu",
        "Pemilihan Umum",
        "The general election (president and legislatures), e.g. `pemilu-2024`.",
    ),
    (
        "Pilkada",
        "Pemilihan Kepala Daerah",
        "The election of governors, regents and mayors, e.g. `pilkada-2024`.",
    ),
    (
        "PKS",
        "Perjanjian Kerja Sama",
        "A cooperation agreement between a BPJS branch and a KPU or Bawaslu office: an "
        "`agreement`.",
    ),
    (
        "Pemda",
        "Pemerintah Daerah",
        "A regional government (Pemprov, Pemkab, Pemkot); it may pay the contributions from its "
        "budget (the `payer`).",
    ),
    (
        "JKK",
        "Jaminan Kecelakaan Kerja",
        "Work-accident insurance: care, wages while unable to work, disability and death "
        "benefits, for accidents at work and on the way to and from it.",
    ),
    ("JKM", "Jaminan Kematian", "The death benefit for a death that is not a work accident."),
    (
        "BPU",
        "Bukan Penerima Upah",
        "BPJS membership for people without a regular wage; its rates (JKK 1% of the declared "
        "wage, JKM Rp6,800 a month) are the agreements' default.",
    ),
    (
        "TPS",
        "Tempat Pemungutan Suara",
        "A polling station, numbered within its village (`tps`: `001`).",
    ),
    (
        "KPPS",
        "Kelompok Penyelenggara Pemungutan Suara",
        "The seven KPU officers who run one TPS on voting day.",
    ),
    ("PPS", "Panitia Pemungutan Suara", "The KPU's committee of a village."),
    ("PPK", "Panitia Pemilihan Kecamatan", "The KPU's committee of a district."),
    (
        "Pantarlih",
        "Petugas Pemutakhiran Data Pemilih",
        "KPU officers who update the voter list house by house.",
    ),
    (
        "Linmas",
        "Perlindungan Masyarakat",
        "Civil-protection volunteers who keep order at a TPS (role `KETERTIBAN_TPS`).",
    ),
    (
        "Panwascam",
        "Panitia Pengawas Pemilu Kecamatan",
        "Bawaslu's supervisory committee of a district.",
    ),
    ("PKD", "Pengawas Kelurahan/Desa", "Bawaslu's supervisor of a village."),
    ("PTPS", "Pengawas Tempat Pemungutan Suara", "Bawaslu's supervisor at one TPS."),
    (
        "Badan ad hoc",
        "Badan ad hoc",
        "The temporary bodies above, whose officers serve one election: the people this service "
        "protects.",
    ),
    (
        "Ketua, anggota, sekretaris, staf",
        "",
        "Chair, member, secretary, staff: an officer's `position` within the body (given with "
        "the role in the roster column `JABATAN`).",
    ),
    (
        "NIK",
        "Nomor Induk Kependudukan",
        "The 16-digit national identity number: province, regency, district, birth date (women "
        "add 40 to the day), serial.",
    ),
    (
        "KTP, KK",
        "Kartu Tanda Penduduk, Kartu Keluarga",
        "The identity card and the family card, both claim documents.",
    ),
    (
        "KPJ",
        "Kartu Peserta Jamsostek",
        "The 11-digit BPJS Ketenagakerjaan membership number, set by the branch on a registration.",
    ),
    (
        "TMT",
        "Terhitung Mulai Tanggal",
        '"Counted from the date": the day an officer\'s term, and so the coverage, starts '
        "(`coverage_start`).",
    ),
    (
        "PAW",
        "Pergantian Antar Waktu",
        "A replacement during the term: the old officer's coverage ends the day before the new "
        "one's starts (`replaces_nik`).",
    ),
    (
        "KK1, KK2",
        "Formulir Kecelakaan Kerja tahap I, II",
        "The work-accident report forms: KK1 within 2 x 24 hours of the accident, KK2 once the "
        "outcome is known.",
    ),
    (
        "Provinsi, kabupaten, kota, kecamatan, desa, kelurahan",
        "",
        "Province, regency, city, district, village (rural, urban): the levels of `region_code`.",
    ),
    (
        "Kepmendagri",
        "Keputusan Menteri Dalam Negeri",
        "The Home Affairs minister's decree that lists the region codes (the 2025 edition here).",
    ),
)

INTRODUCTION = """
Perisai records BPJS Ketenagakerjaan work-accident (JKK) and death (JKM) protection for the
ad-hoc officers of KPU and Bawaslu during Pemilu and Pilkada: cooperation agreements with
their cohorts, officer rosters, coverage checks, claims, contributions and reports.

Authenticate with `Authorization: Bearer <api key>`. Errors are RFC 9457
`application/problem+json` with a stable `code`. Lists page with `?limit=&cursor=`; creating
POSTs take an `Idempotency-Key`; updates take `If-Match` with the `ETag`.

## Glossary

The API names things as the field does. The terms partners meet, with the Indonesian they
stand for:
"""

EVENTS_TAG = """What happened, for the systems of the parties: one immutable event per change
(`roster_batch.completed`, `roster_batch.failed`, `registration.held`, `registration.resolved`,
`registration.ended`, `claim.created`, `claim.status_changed`, `claim.document_received`,
`agreement.status_changed`, `contribution.payment_recorded`), written in the transaction of the
change itself. An organization sees the events of the agreements it is party to. Events are
thin: ids, statuses, counts and links (`/v1/...`) to fetch the rest with your own key; never a
NIK or a name. Poll `GET /v1/events` (scope `events:read`) or subscribe a webhook."""

WEBHOOKS_TAG = """Events pushed to your URL (scope `webhooks:write`), signed as the
[Standard Webhooks](https://www.standardwebhooks.com/) specification says: headers `webhook-id`
(the event id, the same on every retry: deduplicate on it), `webhook-timestamp` and
`webhook-signature`; body `{"type", "timestamp", "data"}`. Answer 2xx within 10 seconds; any
other answer, a timeout or a refused connection is retried after about 5 s, 5 min, 30 min, 2 h,
5 h, 10 h and 10 h. Verify every delivery with the `standardwebhooks` package:

```python
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook("whsec_...")  # the secret shown when the endpoint was created

def receive(body: bytes, headers: dict[str, str]) -> None:
    try:
        event = webhook.verify(body, headers)  # raises unless signed with the secret
    except WebhookVerificationError:
        ...  # answer 400 and drop it
    seen_before = headers["webhook-id"]  # store it: the same event may arrive twice
    print(event["type"], event["data"])
```"""

# The docs keep the domains in reading order; every tag an operation uses is described here.
TAGS = (
    {
        "name": "health",
        "description": "Liveness, readiness and Prometheus metrics, for load balancers and "
        "monitoring. No key needed.",
    },
    {
        "name": "organizations",
        "description": "Who calls the API: BPJS Ketenagakerjaan branch offices, KPU and Bawaslu "
        "offices, regional governments (Pemda), integrators (hospitals, payroll, other agencies) "
        "and operators. Operators create organizations and issue their API keys; a key belongs "
        "to one organization, carries scopes, and its secret is shown once.",
    },
    {
        "name": "reference",
        "description": "Catalogues every key may read: the regions of Indonesia (Kepmendagri "
        "2025: province, regency or city, district, village, with dotted codes such as "
        "`16.12.01.2001`), the officer roles of KPU and Bawaslu with their level and age limits, "
        "the elections (Pemilu, Pilkada) and the JKK and JKM benefit schedules with their legal "
        "basis.",
    },
    {
        "name": "agreements",
        "description": "Cooperation agreements (PKS) between a BPJS branch and a KPU or Bawaslu "
        "office for one election and region: the programs (JKK, JKM) and their rates, the payer, "
        "and the cohorts, each an officer role with a planned headcount, a coverage period and a "
        "declared monthly wage. An agreement goes draft -> active -> ended, or draft -> "
        "cancelled; officers are taken only while it is active.",
    },
    {
        "name": "rosters",
        "description": "Officer lists pushed by the KPU or Bawaslu office, as JSON, NDJSON, CSV "
        "or an XLSX spreadsheet; spreadsheet headers may be Indonesian (`NIK`, `NAMA LENGKAP`, "
        "`TGL LAHIR`, `JABATAN`, `KODE WILAYAH`, `TPS`, `TMT`, ...). Each row ends `created`, "
        "`updated`, `unchanged`, `replaced` (a PAW), `held` (already protected elsewhere) or "
        "`rejected` with a code; large files run in the background as a batch whose progress "
        "and per-row errors can be read.",
    },
    {
        "name": "registrations",
        "description": "One officer's protection under a cohort, made from a roster row, "
        "identified by NIK. A NIK has at most one active registration on any day, across KPU and "
        "Bawaslu: a row that overlaps another is held until a reviewer rejects it or transfers "
        "the coverage. Registrations end by date or are terminated early; nothing is deleted.",
    },
    {
        "name": "coverage",
        "description": "Is this person protected on this day? One NIK or up to 10,000 at once, "
        "with the reason when not (`not_registered`, `not_started`, `ended`, `terminated`, "
        "`held`). The NIK is masked without the `pii:read` scope, and every read is logged with "
        "the key that made it (personal data law, UU 27/2022). The BPJS branch also records the "
        "KPJ membership numbers here.",
    },
    {
        "name": "claims",
        "description": "JKK (work accident) and JKM (death) claims: filed for a covered officer, "
        "with the documents each program requires and the benefits computed from the schedule "
        "in force, then moved submitted -> verified -> approved -> paid, or rejected, by the "
        "agreement's BPJS branch.",
    },
    {
        "name": "contributions",
        "description": "Money and reports: contributions due per cohort and month (a started "
        "month counts whole), payments and the balance, an agreement's summary of enrolment "
        "against plan, and enrolment per regency for a province or the country.",
    },
    {"name": "events", "description": EVENTS_TAG},
    {"name": "webhooks", "description": WEBHOOKS_TAG},
)

# Relative to where the document is served, so that "Try it out" calls the server showing it.
SERVERS = ({"url": "/", "description": "The server that serves these docs"},)


def glossary_table() -> str:
    lines = ["| Term | Indonesian | What it is |", "|---|---|---|"]
    lines += [f"| {term} | {indonesian} | {meaning} |" for term, indonesian, meaning in GLOSSARY]
    return "\n".join(lines)


def description() -> str:
    return f"{INTRODUCTION}\n{glossary_table()}\n"


def api_version() -> str:
    """The package's version, from its installed metadata (pyproject.toml is its one home)."""
    return version("perisai")
