"""The console in headless Chromium against the real server, on the demo data: a BPJS branch
signs in with its demo key and reads an agreement's district chart; Bawaslu Kota Ambon uploads
the shared PTPS sample (XLSX) and watches its batch finish, with a rejected and a held row; the
BPJS branch resolves the held registration and moves a claim; another organization sees none of
it; no session leads to the sign-in form; a form without its CSRF token is refused. Every page
stays under 100 KB and asks nothing of another host. Screenshots: .artifacts/screenshots/."""

import base64
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.database import create_sessionmaker
from app.demo import seed_demo
from app.demo_data import DEMO_AGREEMENTS, DEMO_KEYS
from tests.browser import SCREENSHOTS, Browser, chromium
from tests.claims.helpers import jkk
from tests.conftest import ADMIN_KEY, truncate_non_reference_tables
from tests.factories import ADMIN, create_organization, issue_key
from tests.live_server import real_server

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "roster-ptps-ambon-sample.xlsx"
if not SAMPLE.exists():  # a checkout outside the work tree: the copy next to the tests
    SAMPLE = Path(__file__).resolve().parents[1] / "data" / SAMPLE.name
pytestmark = pytest.mark.concurrency  # the demo is committed for the real server, then truncated
MAX_PAGE_BYTES = 100_000
# A re-vote (PSU) in Ambon whose rules cap PTPS at 50 on voting day: two sample officers are older.
PSU = "pilkada-2024-psu-ambon"
HELD_NIK = "8171022304980718"  # the sample's first officer, already a KPPS of KPU Kota Ambon
CLAIM_NIK = "8171041607779391"
PTPS = {
    "role": "PTPS",
    "planned_headcount": 45,
    "coverage_start": "2024-11-01",
    "coverage_end": "2024-12-31",
}
WEIGHTS: dict[str, int] = {}
DROP_CHOSEN_FILE = """
var input = document.getElementById('file'), file = input.files[0];
input.value = '';
input.dispatchEvent(new Event('change'));
if (document.getElementById('file-name').textContent !== '') { throw new Error('not emptied'); }
var data = new DataTransfer();
data.items.add(file);
var zone = document.getElementById('dropzone'), options = {dataTransfer: data, bubbles: true};
zone.dispatchEvent(new DragEvent('dragover', options));
zone.dispatchEvent(new DragEvent('drop', options));
"""


@dataclass
class Demo:
    base: str
    keys: dict[str, str]  # demo label -> key, plus "ambon" (Bawaslu) and "maluku" (BPJS)
    psu_agreement: str
    kpu_agreement: str


def demo_key(keys: dict[str, str], label: str) -> str:
    return next(token for name, token in keys.items() if name.startswith(f"{label},"))


@pytest.fixture(scope="module")
async def demo(
    database_url: str, engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Demo]:
    async with create_sessionmaker(engine)() as session:
        lines = await seed_demo(
            session, data_dir=tmp_path_factory.mktemp("demo"), officers_scale=0.02
        )
        await session.commit()
    keys = dict(line.removeprefix("demo key (").split("): ", 1) for line in lines)
    os.environ["SYNC_ROSTER_MAX_ROWS"] = "10"  # the 40 rows go to the background: polled
    try:
        with real_server(database_url, ADMIN_KEY) as base:
            os.environ.pop("SYNC_ROSTER_MAX_ROWS")
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                yield await ambon(client, base, keys)
    finally:
        os.environ.pop("SYNC_ROSTER_MAX_ROWS", None)
        await truncate_non_reference_tables(engine)
        async with engine.begin() as connection:
            await connection.execute(
                text(f"DELETE FROM role_age_limits WHERE election_code = '{PSU}'")
            )
            await connection.execute(text(f"DELETE FROM elections WHERE code = '{PSU}'"))


async def ambon(client: httpx.AsyncClient, base: str, keys: dict[str, str]) -> Demo:
    """Keys for two demo organizations of Ambon, a KPU Kota Ambon with one KPPS (the held
    conflict to be), and Bawaslu Kota Ambon's agreement for the PSU's PTPS."""
    listed = (await client.get("/v1/organizations?limit=100", headers=ADMIN)).json()["items"]
    ids = {org["name"]: org["id"] for org in listed}
    bawaslu = await issue_key(client, ids["Bawaslu Kota Ambon"], DEMO_KEYS["bawaslu"][1])
    maluku = await issue_key(
        client, ids["BPJS Ketenagakerjaan Cabang Maluku"], DEMO_KEYS["bpjs_branch"][1]
    )
    election = await client.post(
        "/v1/elections",
        json={
            "code": PSU,
            "name": "Pemungutan Suara Ulang Kota Ambon",
            "voting_day": "2024-11-27",
            "age_limits": [{"role": "PTPS", "min_age": 21, "max_age": 50}],
        },
        headers=ADMIN,
    )
    assert election.status_code == 201, election.text
    kpu = await create_organization(client, "kpu", "81.71", "KPU Kota Ambon")
    kpu_agreement = await agreement(
        client,
        "PKS/AMQ/KPU-AMBON/2024",
        ids["BPJS Ketenagakerjaan Cabang Maluku"],
        kpu["id"],
        {**PTPS, "role": "KPPS"},
    )
    kpu_key = await issue_key(client, kpu["id"], ["rosters:write"])
    pushed = await client.post(
        f"/v1/agreements/{kpu_agreement}/rosters",
        json={
            "officers": [
                {
                    "nik": HELD_NIK,
                    "full_name": "Dedi Simanjuntak",
                    "birth_date": "1998-04-23",
                    "sex": "L",
                    "role": "KPPS",
                    "region_code": "81.71.02.1015",
                    "tps": "008",
                }
            ]
        },
        headers=kpu_key.headers,
    )
    assert pushed.status_code == 201 and pushed.json()["counts"]["created"] == 1, pushed.text
    psu_agreement = await agreement(
        client,
        "PKS/AMQ/BAWASLU-AMBON/PSU/2024",
        ids["BPJS Ketenagakerjaan Cabang Maluku"],
        ids["Bawaslu Kota Ambon"],
        {**PTPS, "election": PSU},
    )
    keys |= {"ambon,": token_of(bawaslu.headers), "maluku,": token_of(maluku.headers)}
    await pay_pemilu_months(client, demo_key(keys, "bpjs_branch"))
    return Demo(base, keys, psu_agreement, kpu_agreement)


async def pay_pemilu_months(client: httpx.AsyncClient, key: str) -> None:
    """The branch records the KPU Asahan payment for its Pemilu months (and part of Nov 2024)."""
    headers = {"Authorization": f"Bearer {key}"}
    listed = (await client.get("/v1/agreements", headers=headers)).json()["items"]
    kpu_asahan = next(a["id"] for a in listed if a["number"] == DEMO_AGREEMENTS[0].number)
    balance = (await client.get(f"/v1/agreements/{kpu_asahan}/balance", headers=headers)).json()
    months = [m["month"] for m in balance["months"]]
    amount = sum(m["due"] for m in balance["months"][:4]) + balance["months"][4]["due"] // 2
    paid = await client.post(
        f"/v1/agreements/{kpu_asahan}/payments",
        json={
            "amount": amount,
            "paid_on": "2024-12-20",
            "reference": "SP2D/ASH/1",
            "months": months,
        },
        headers=headers,
    )
    assert paid.status_code == 201, paid.text


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


async def agreement(
    client: httpx.AsyncClient, number: str, branch: str, counterpart: str, cohort: dict[str, object]
) -> str:
    created = await client.post(
        "/v1/agreements",
        json={
            "number": number,
            "bpjs_branch_id": branch,
            "counterpart_id": counterpart,
            "election": "pilkada-2024",
            "region_code": "81.71",
            "signed_on": "2024-10-31",
            "cohorts": [cohort],
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    activated = await client.post(f"/v1/agreements/{created.json()['id']}/activate", headers=ADMIN)
    assert activated.status_code == 200, activated.text
    return str(created.json()["id"])


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def sign_in(browser: Browser, demo: Demo, label: str) -> None:
    browser.open(f"{demo.base}/console/masuk")
    browser.type("#api_key", demo_key(demo.keys, label))
    browser.click("form button[type=submit]")
    browser.wait_for("header nav")


def look(browser: Browser, name: str, refused: tuple[int, ...] = ()) -> None:
    """A full-page screenshot, the page's weight recorded and checked, its hosts checked, and
    no page error but the loads refused with the statuses the test caused."""
    browser.screenshot(f"console-{name}", full_page=True)
    weight = browser.run(
        "return [performance.getEntriesByType('navigation')[0]]"
        ".concat(performance.getEntriesByType('resource'))"
        ".reduce(function (sum, e) { return sum + e.encodedBodySize; }, 0)"
    )
    WEIGHTS[name] = int(weight)
    assert 0 < weight < MAX_PAGE_BYTES, (name, weight)
    elsewhere = [url for url in browser.requests() if urlsplit(url).hostname != "127.0.0.1"]
    assert elsewhere == []
    expected = tuple(f"status of {status} " for status in refused)
    assert [e for e in browser.console_errors() if not any(x in e for x in expected)] == []


def readme_shot(browser: Browser) -> None:
    """The top of the page at 60%, small enough for the README (docs/console-agreement.png)."""
    clip = {"x": 0, "y": 0, "width": 1280, "height": 1480, "scale": 0.6}
    shot = browser.driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    (SCREENSHOTS / "console-readme.png").write_bytes(base64.b64decode(shot["data"]))


def test_a_branch_signs_in_with_its_demo_key_and_reads_the_district_chart(
    browser: Browser, demo: Demo
) -> None:
    sign_in(browser, demo, "bpjs_branch")
    browser.wait_for("#agreements")
    look(browser, "agreements")
    kpu_asahan = DEMO_AGREEMENTS[0].number
    links = browser.find_all("#agreements a[href^='/console/perjanjian/']")
    browser.click(next(link for link in links if link.text == kpu_asahan))
    browser.wait_for("#districts svg.chart")
    assert kpu_asahan in browser.wait_for("h1").text
    bars = browser.find_all("#districts svg.chart rect.done")
    assert len(bars) >= 3 and all(float(b.get_attribute("width") or 0) > 0 for b in bars[:3])
    rows = browser.find_all("#districts table tbody tr")
    labels = [label.text for label in browser.find_all("#districts svg.chart text.label")]
    assert len(rows) == len(bars) and rows[0].text.split()[1] in labels[0]
    assert len(browser.find_all("#cohorts svg.chart rect.done")) == len(DEMO_AGREEMENTS[0].cohorts)
    paid = browser.find_all("#money svg.chart rect.paid")
    assert len([bar for bar in paid if float(bar.get_attribute("height") or 0) > 0]) == 5
    look(browser, "agreement")
    readme_shot(browser)


def test_bawaslu_uploads_the_xlsx_and_watches_the_batch_finish(
    browser: Browser, demo: Demo
) -> None:
    sign_in(browser, demo, "ambon")
    browser.open(f"{demo.base}/console/perjanjian/{demo.psu_agreement}")
    browser.click("#upload-link")
    browser.wait_for("#dropzone")
    browser.find_all("#file")[0].send_keys(str(SAMPLE))
    browser.wait_for_text("#file-name", SAMPLE.name)
    # Dropped instead: the chooser emptied, then the same file dropped on the zone.
    browser.run(DROP_CHOSEN_FILE)
    browser.wait_for_text("#file-name", SAMPLE.name)
    assert browser.wait_for("#upload-button").is_enabled()
    look(browser, "upload")
    browser.click("#upload-button")
    counts = browser.wait_for("#counts", timeout=30)
    assert [url for url in browser.requests() if url.endswith("/status")]  # it polled
    text_of = counts.text
    assert "36\nbaru" in text_of and "3\nditolak" in text_of and "1\nditahan" in text_of
    problems = browser.wait_for("#problems table").text
    assert "age_above_maximum" in problems and HELD_NIK in problems
    first_line = browser.driver.execute_async_script(
        "var done = arguments[0];"
        "fetch(document.getElementById('errors-file').href).then(function (r) { return r.text(); })"
        ".then(function (t) { done(t.split('\\n')[0]); });"
    )
    assert "alasan" in first_line
    look(browser, "batch")


def test_the_branch_resolves_the_held_registration_and_moves_a_claim(
    browser: Browser, demo: Demo
) -> None:
    ambon_key = {"Authorization": f"Bearer {demo_key(demo.keys, 'ambon')}"}
    found = httpx.get(
        f"{demo.base}/v1/registrations",
        params={"nik": CLAIM_NIK, "agreement_id": demo.psu_agreement},
        headers=ambon_key,
    ).json()["items"]
    claim = jkk(found[0]["id"], place_region_code="81.71.04.1008", place="TPS 003")
    filed = httpx.post(f"{demo.base}/v1/claims", json=claim, headers=ambon_key)
    assert filed.status_code == 201, filed.text

    sign_in(browser, demo, "maluku")
    browser.open(f"{demo.base}/console/ditahan")
    row = browser.wait_for("#held tbody tr")
    assert HELD_NIK in row.text and "KPU KPPS" in row.text
    look(browser, "held")
    browser.click(browser.find_all("button", row)[0])  # the first choice: transfer
    assert "aktif" in browser.wait_for("#notice").text
    browser.wait_for("#no-held")

    browser.open(f"{demo.base}/console/klaim")
    row = browser.wait_for(f"#claim-{filed.json()['id']}")
    assert "hari" in row.text and "Formulir KK1" in row.text
    look(browser, "claims")
    browser.click(browser.find_all("button", row)[0])  # to verified
    assert "diverifikasi" in browser.wait_for("#notice").text

    browser.open(f"{demo.base}/console/cek")
    browser.type("input[name=nik]", HELD_NIK)
    browser.run("document.querySelector('input[name=on]').value = '2024-12-01'")
    browser.click("form.row-form button")
    assert "Terlindungi" in browser.wait_for("#coverage-answer").text


def test_another_organization_sees_none_of_it_and_forged_forms_are_refused(
    browser: Browser, demo: Demo
) -> None:
    browser.open(f"{demo.base}/console/klaim")
    assert "/console/masuk" in browser.driver.current_url  # no session
    browser.wait_for("#api_key")
    look(browser, "signin")
    sign_in(browser, demo, "kpu")
    assert "AMBON" not in browser.wait_for("#agreements").text.upper()
    browser.open(f"{demo.base}/console/perjanjian/{demo.psu_agreement}")
    assert "Tidak ditemukan" in browser.wait_for("h1").text
    look(browser, "not-found", refused=(404,))
    browser.open(f"{demo.base}/console/ditahan")
    assert HELD_NIK not in browser.wait_for("main").text
    browser.open(f"{demo.base}/console/klaim?status=verified")
    browser.wait_for("#no-claims")

    browser.run("document.querySelector('form.signout input[name=csrf_token]').remove()")
    browser.click("form.signout button")  # a forged sign-out: no CSRF token
    assert "csrf_token_invalid" in browser.wait_for(".alert").text
    browser.open(f"{demo.base}/console/perjanjian")
    browser.wait_for("#agreements")  # still signed in

    sign_in(browser, demo, "integrator")
    browser.type("input[name=nik]", HELD_NIK)
    browser.run("document.querySelector('input[name=on]').value = '2024-12-01'")
    browser.click("form.row-form button")
    answer = browser.wait_for("#coverage-answer").text
    assert "Terlindungi" in answer and HELD_NIK not in answer and HELD_NIK[:6] in answer
    look(browser, "coverage", refused=(403, 404))
    (SCREENSHOTS / "console-weights.txt").write_text(
        "".join(f"{name}: {weight} bytes\n" for name, weight in sorted(WEIGHTS.items()))
    )
