"""The console's claim moves and roster uploads over httpx (ASGI): the same ETag rules, scopes
and party rules as the API, refused inputs leaving the data as it was."""

from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Claim, RosterBatch
from tests.claims import helpers as claims
from tests.console.test_forms import sign_in, token_of
from tests.factories import create_key
from tests.registrations.helpers import World, world
from tests.rosters.helpers import csv_body, officer

COUNTERPART_SCOPES = ["agreements:read", "rosters:write", "registrations:read", "pii:read"]


@pytest.fixture
async def filed(
    client: httpx.AsyncClient, session: AsyncSession
) -> tuple[claims.World, dict[str, Any]]:
    setup = await claims.world(client, session)
    registration_id, _ = await setup.officer()
    return setup, await claims.file(client, setup.counterpart, claims.jkk(registration_id))


async def status_of(session: AsyncSession, claim: dict[str, Any]) -> tuple[str, int]:
    row = (
        await session.execute(select(Claim.status, Claim.version).where(Claim.id == claim["id"]))
    ).one()
    return row[0], row[1]


async def test_a_reviewer_moves_a_claim_with_the_etag_rules_of_the_api(
    client: httpx.AsyncClient,
    session: AsyncSession,
    filed: tuple[claims.World, dict[str, Any]],
) -> None:
    setup, claim = filed
    csrf = await sign_in(client, token_of(setup.branch.headers))
    queue = await client.get("/console/klaim")
    assert queue.status_code == 200 and f'id="claim-{claim["id"]}"' in queue.text
    assert "Formulir KK1" in queue.text and "0 hari" in queue.text  # missing, waiting
    url = f"/console/klaim/{claim['id']}"
    form = {"csrf_token": csrf, "status": "submitted", "to": "verified"}

    stale = await client.post(url, data=form | {"version": str(int(claim["version"]) + 1)})
    assert stale.status_code == 412 and 'data-code="precondition_failed"' in stale.text
    missing = await client.post(url, data=form)
    assert missing.status_code == 428 and "precondition_required" in missing.text
    early = await client.post(url, data=form | {"to": "approved", "version": str(claim["version"])})
    assert early.status_code == 409 and "invalid_transition" in early.text
    forged = await client.post(url, data={k: v for k, v in form.items() if k != "csrf_token"})
    assert forged.status_code == 403 and "csrf_token_invalid" in forged.text
    assert await status_of(session, claim) == ("submitted", claim["version"])

    moved = await client.post(url, data=form | {"version": str(claim["version"])})
    assert moved.status_code == 303
    assert await status_of(session, claim) == ("verified", int(claim["version"]) + 1)
    approve = await client.post(
        url,
        data=form
        | {"status": "verified", "to": "approved", "version": str(int(claim["version"]) + 1)},
    )
    assert approve.status_code == 409 and "documents_missing" in approve.text


async def test_the_queue_reads_its_claims_in_full_with_one_query_each_kind(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Three claims in the queue: each shown with its missing documents, one access-log row each,
    and their documents, benefits and history read by one query per kind, not per claim."""
    setup = await claims.world(client, session)
    filed = []
    for _ in range(3):
        registration_id, _ = await setup.officer()
        filed.append(await claims.file(client, setup.counterpart, claims.jkk(registration_id)))
    await sign_in(client, token_of(setup.branch.headers))
    statements: list[str] = []
    connection = (await session.connection()).sync_connection
    assert connection is not None

    def log(*args: Any) -> None:  # before_cursor_execute(conn, cursor, statement, ...)
        statements.append(args[2])

    event.listen(connection, "before_cursor_execute", log)
    try:
        before = await session.scalar(text("SELECT count(*) FROM access_log"))
        queue = await client.get("/console/klaim")
        after = await session.scalar(text("SELECT count(*) FROM access_log"))
    finally:
        event.remove(connection, "before_cursor_execute", log)
    assert queue.status_code == 200
    for claim in filed:
        assert f'id="claim-{claim["id"]}"' in queue.text
    assert queue.text.count("Formulir KK1") >= 3
    assert (after or 0) - (before or 0) == 3
    for table in ("claim_documents", "claim_benefits", "claim_events"):
        assert sum(f"FROM {table}" in sql for sql in statements) == 1, (table, statements)


async def test_parties_that_do_not_review_cannot_move_and_outsiders_see_no_claim(
    client: httpx.AsyncClient,
    browser_client: httpx.AsyncClient,
    session: AsyncSession,
    filed: tuple[claims.World, dict[str, Any]],
) -> None:
    setup, claim = filed
    form = {"status": "submitted", "to": "verified", "version": str(claim["version"])}
    csrf = await sign_in(client, token_of(setup.counterpart.headers))
    queue = await client.get("/console/klaim")
    assert f'id="claim-{claim["id"]}"' in queue.text
    assert f'action="/console/klaim/{claim["id"]}"' not in queue.text
    refused = await client.post(f"/console/klaim/{claim['id']}", data=form | {"csrf_token": csrf})
    assert refused.status_code == 403 and "not_reviewer" in refused.text

    csrf = await sign_in(browser_client, token_of(setup.outsider.headers))
    assert f"claim-{claim['id']}" not in (await browser_client.get("/console/klaim")).text
    hidden = await browser_client.post(
        f"/console/klaim/{claim['id']}", data=form | {"csrf_token": csrf}
    )
    assert hidden.status_code == 404 and "claim_not_found" in hidden.text
    assert await status_of(session, claim) == ("submitted", claim["version"])


@pytest.fixture
async def setup(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


def roster() -> bytes:
    good = officer(1, region_code="12.09.18.2002", tps="019")
    bad = officer(2, nik="1209180000000000")
    return csv_body([good, bad])


async def upload(
    client: httpx.AsyncClient, setup: World, csrf: str | None, body: bytes, content_type: str
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return await client.post(
        f"/console/perjanjian/{setup.kpu.id}/unggah", content=body, headers=headers
    )


async def test_upload_refuses_forged_empty_and_unknown_bodies_and_non_counterparts(
    client: httpx.AsyncClient,
    browser_client: httpx.AsyncClient,
    session: AsyncSession,
    setup: World,
) -> None:
    csrf = await sign_in(
        client, token_of(await create_key(client, setup.counterpart, COUNTERPART_SCOPES))
    )
    page = await client.get(f"/console/perjanjian/{setup.kpu.id}/unggah")
    assert page.status_code == 200 and 'id="dropzone"' in page.text
    for sent, content_type, status, code in (
        (None, "text/csv", 403, "csrf_token_invalid"),
        ("forged", "text/csv", 403, "csrf_token_invalid"),
        (csrf, "image/png", 415, "unsupported_media_type"),
        ("", "text/csv", 403, "csrf_token_invalid"),
    ):
        refused = await upload(client, setup, sent, roster(), content_type)
        assert refused.status_code == status, refused.text
        assert refused.json()["code"] == code
    empty = await upload(client, setup, csrf, b"", "text/csv")
    assert empty.status_code == 422 and empty.json()["code"] == "roster_empty"

    branch = await sign_in(
        browser_client,
        token_of(await create_key(client, setup.branch, ["rosters:write", "agreements:read"])),
    )
    not_counterpart = await upload(browser_client, setup, branch, roster(), "text/csv")
    assert not_counterpart.status_code == 403
    assert not_counterpart.json()["code"] == "not_counterpart"
    assert (await session.scalars(select(RosterBatch))).all() == []


async def test_an_uploaded_roster_shows_its_counts_rejected_rows_and_errors_file(
    client: httpx.AsyncClient, setup: World
) -> None:
    csrf = await sign_in(
        client, token_of(await create_key(client, setup.counterpart, COUNTERPART_SCOPES))
    )
    done = await upload(client, setup, csrf, roster(), "text/csv")
    assert done.status_code == 201, done.text
    batch = done.json()
    assert batch["status"] == "completed" and batch["page"].endswith(batch["id"])
    status = await client.get(f"/console/unggahan/{batch['id']}/status")
    assert status.json()["processed_rows"] == 2
    page = await client.get(batch["page"])
    assert page.status_code == 200
    assert "<strong>1</strong> baru" in page.text and "<strong>1</strong> ditolak" in page.text
    assert "<code>nik_" in page.text and "kesalahan.csv" in page.text
    errors = await client.get(f"{batch['page']}/kesalahan.csv")
    assert errors.status_code == 200 and "alasan" in errors.text.splitlines()[0]
