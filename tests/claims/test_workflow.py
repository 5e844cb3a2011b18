"""The review workflow: documents gate, every move and actor, If-Match, concurrent moves."""

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.claims.documents import JKM_DOCUMENTS
from tests.claims.helpers import (
    World,
    claimant,
    file,
    jkk,
    jkm,
    move,
    receive_all,
    world,
)
from tests.conftest import ADMIN_KEY
from tests.factories import Caller, issue_key

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PAY = {"to": "paid", "paid_on": "2024-12-20", "transfer_reference": "TRF-884211"}


@pytest.fixture
async def w(client: httpx.AsyncClient, session: AsyncSession) -> World:
    return await world(client, session)


# How the branch brings a claim to each status ("documents": every missing one received).
PLANS: dict[str, list[dict[str, str] | str]] = {
    "submitted": [],
    "verified": [{"to": "verified"}],
    "approved": [{"to": "verified"}, "documents", {"to": "approved"}],
    "paid": [{"to": "verified"}, "documents", {"to": "approved"}, PAY],
    "rejected": [{"to": "rejected", "note": "Bukan peserta yang sama"}],
}


async def claim_in(client: httpx.AsyncClient, w: World, status: str) -> tuple[dict[str, Any], str]:
    """A JKM claim brought to `status` by the branch; the claim and its current ETag."""
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkm(registration_id))
    etag = '"1"'
    steps = PLANS[status]
    for step in steps:
        if step == "documents":
            etag = await receive_all(client, w.counterpart, claim)
            continue
        assert isinstance(step, dict)
        response = await move(client, w.branch, claim["id"], etag, step)
        assert response.status_code == 200, response.text
        etag = response.headers["ETag"]
        claim = response.json()
    return claim, etag


async def test_from_filing_to_payment(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkm(registration_id))
    assert claim["documents_missing"] == list(JKM_DOCUMENTS)
    claim_id = claim["id"]

    verified = await move(client, w.branch, claim_id, '"1"', {"to": "verified", "note": "Cek"})
    assert verified.status_code == 200, verified.text
    assert verified.headers["ETag"] == '"2"'
    assert verified.json()["status"] == "verified"

    refused = await move(client, w.branch, claim_id, '"2"', {"to": "approved"})
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "documents_missing"
    assert problem["missing"] == list(JKM_DOCUMENTS)

    etag = await receive_all(client, w.counterpart, verified.json())
    assert etag == f'"{2 + len(JKM_DOCUMENTS)}"'
    approved = await move(client, w.branch, claim_id, etag, {"to": "approved"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["documents_missing"] == []

    paid = await move(client, w.branch, claim_id, approved.headers["ETag"], PAY)
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["status"] == "paid"
    assert (body["paid_on"], body["transfer_reference"]) == ("2024-12-20", "TRF-884211")

    read = await client.get(f"/v1/claims/{claim_id}", headers=w.payer.headers)
    assert read.status_code == 200
    assert read.headers["ETag"] == paid.headers["ETag"]
    history = read.json()["history"]
    assert [(e["from_status"], e["to_status"]) for e in history] == [
        (None, "submitted"),
        ("submitted", "verified"),
        ("verified", "approved"),
        ("approved", "paid"),
    ]
    assert history[0]["actor_organization_id"] == w.counterpart.organization_id
    assert {e["actor_key_id"] for e in history[1:]} == {w.branch.key_id}
    assert history[1]["note"] == "Cek"
    documents = {d["kind"]: d for d in read.json()["documents"]}
    assert all(d["received"] and d["required"] for d in documents.values())
    assert documents["bank_book"]["reference"] == "bank_book.pdf"
    assert documents["bank_book"]["received_by_organization_id"] == w.counterpart.organization_id


async def test_documents_gate_names_what_is_missing(client: httpx.AsyncClient, w: World) -> None:
    claim, _ = await claim_in(client, w, "verified")
    for kind in JKM_DOCUMENTS[:-1]:
        await client.post(
            f"/v1/claims/{claim['id']}/documents",
            json={"kind": kind, "reference": "x"},
            headers=w.branch.headers,
        )
    # A document outside the checklist is kept, not required, and does not open the gate.
    extra = await client.post(
        f"/v1/claims/{claim['id']}/documents",
        json={"kind": "medical_certificate", "reference": "SKD-1"},
        headers=w.branch.headers,
    )
    assert extra.status_code == 200
    assert {
        k: v
        for d in extra.json()["documents"]
        if d["kind"] == "medical_certificate"
        for k, v in d.items()
        if k in ("kind", "required")
    } == {"kind": "medical_certificate", "required": False}
    response = await move(client, w.branch, claim["id"], extra.headers["ETag"], {"to": "approved"})
    assert response.status_code == 409
    assert response.json()["missing"] == [JKM_DOCUMENTS[-1]]
    assert response.json()["code"] == "documents_missing"


FORBIDDEN = {
    "submitted": ["approved", "paid"],
    "verified": ["verified", "paid"],
    "approved": ["verified", "approved"],
    "paid": ["verified", "approved", "paid", "rejected"],
    "rejected": ["verified", "approved", "paid", "rejected"],
}


@pytest.mark.parametrize("status", list(FORBIDDEN))
async def test_every_forbidden_transition(client: httpx.AsyncClient, w: World, status: str) -> None:
    claim, etag = await claim_in(client, w, status)
    for target in FORBIDDEN[status]:
        body: dict[str, Any] = {"to": target}
        if target == "paid":
            body = PAY
        elif target == "rejected":
            body = {"to": "rejected", "note": "x"}
        response = await move(client, w.branch, claim["id"], etag, body)
        assert response.status_code == 409, (status, target, response.text)
        assert response.json()["code"] == "invalid_transition"
    back = await move(client, w.branch, claim["id"], etag, {"to": "submitted"})
    assert back.status_code == 422 and back.json()["code"] == "validation_error"
    read = await client.get(f"/v1/claims/{claim['id']}", headers=w.branch.headers)
    assert read.json()["status"] == status
    assert read.headers["ETag"] == etag


@pytest.mark.parametrize("status", ["submitted", "verified", "approved"])
async def test_reject_from_every_open_state_with_a_reason(
    client: httpx.AsyncClient, w: World, status: str
) -> None:
    claim, etag = await claim_in(client, w, status)
    no_reason = await move(client, w.branch, claim["id"], etag, {"to": "rejected"})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "note_required"
    rejected = await move(
        client, w.branch, claim["id"], etag, {"to": "rejected", "note": "Di luar tugas"}
    )
    assert rejected.status_code == 200, rejected.text
    last = rejected.json()["history"][-1]
    assert (last["from_status"], last["to_status"], last["note"]) == (
        status,
        "rejected",
        "Di luar tugas",
    )


async def test_only_the_branch_reviews(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkk(registration_id))
    claim_id = claim["id"]
    # The counterpart holds claims:review but is not the agreement's BPJS branch.
    response = await move(client, w.counterpart, claim_id, '"1"', {"to": "verified"})
    assert response.status_code == 403 and response.json()["code"] == "not_reviewer"
    # The payer's key has no claims:review at all.
    response = await move(client, w.payer, claim_id, '"1"', {"to": "verified"})
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    # Another branch, with every scope: the claim does not exist for it.
    response = await move(client, w.outsider, claim_id, '"1"', {"to": "verified"})
    assert response.status_code == 404 and response.json()["code"] == "claim_not_found"
    response = await move(client, w.branch, str(uuid.uuid4()), '"1"', {"to": "verified"})
    assert response.status_code == 404
    # A branch key with claims:write only may not review either.
    writer = await issue_key(client, w.branch.organization_id, ["claims:write"])
    response = await move(client, writer, claim_id, '"1"', {"to": "verified"})
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    events = await session.scalar(
        text("SELECT count(*) FROM claim_events WHERE claim_id = :id"), {"id": claim_id}
    )
    assert events == 1
    # Operators may.
    response = await move(client, _admin(), claim_id, '"1"', {"to": "verified"})
    assert response.status_code == 200


def _admin() -> Caller:
    return Caller("", "", ADMIN)


async def test_if_match(client: httpx.AsyncClient, w: World) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkk(registration_id))
    claim_id = claim["id"]
    missing = await move(client, w.branch, claim_id, None, {"to": "verified"})
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    for stale in ('"2"', '"0"', "abc", '"99999999999999999999"'):
        response = await move(client, w.branch, claim_id, stale, {"to": "verified"})
        assert response.status_code == 412, stale
        assert response.json()["code"] == "precondition_failed"
        assert response.headers["ETag"] == '"1"'
    weak = await move(client, w.branch, claim_id, 'W/"1"', {"to": "verified"})
    assert weak.status_code == 200
    star = await move(client, w.branch, claim_id, "*", {"to": "rejected", "note": "n"})
    assert star.status_code == 200 and star.headers["ETag"] == '"3"'


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to": "paid"}, "payment_details_required"),
        ({"to": "paid", "paid_on": "2024-12-20"}, "payment_details_required"),
        ({"to": "paid", "transfer_reference": "T"}, "payment_details_required"),
        (
            {
                "to": "paid",
                "paid_on": (date.today() + timedelta(days=3)).isoformat(),
                "transfer_reference": "T",
            },
            "paid_on_in_future",
        ),
        ({"to": "paid", "paid_on": "2024-11-01", "transfer_reference": "T"}, "paid_on_invalid"),
        ({"to": "paid", "paid_on": "20-12-2024", "transfer_reference": "T"}, "validation_error"),
        ({"to": "paid", "paid_on": "2024-12-20", "transfer_reference": ""}, "validation_error"),
        ({"to": "rejected", "note": "x", "paid_on": "2024-12-20"}, "payment_details_not_allowed"),
        ({"to": "archived"}, "validation_error"),
        ({"to": "rejected", "note": "a\x00"}, "validation_error"),
        (
            {"to": "paid", "paid_on": "2024-12-20", "transfer_reference": "T", "x": 1},
            "validation_error",
        ),
    ],
)
async def test_bad_transition_bodies(
    client: httpx.AsyncClient, w: World, body: dict[str, Any], code: str
) -> None:
    claim, etag = await claim_in(client, w, "approved")
    response = await move(client, w.branch, claim["id"], etag, body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    read = await client.get(f"/v1/claims/{claim['id']}", headers=w.branch.headers)
    assert read.json()["status"] == "approved" and read.headers["ETag"] == etag


async def test_documents_endpoint(
    client: httpx.AsyncClient, w: World, session: AsyncSession
) -> None:
    registration_id, _ = await w.officer()
    claim = await file(client, w.counterpart, jkk(registration_id))
    url = f"/v1/claims/{claim['id']}/documents"
    unknown = await client.post(
        url, json={"kind": "selfie", "reference": "a"}, headers=w.branch.headers
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "document_kind_unknown"
    assert "kk1" in unknown.json()["known"]
    for bad in (
        {"kind": "kk1"},
        {"kind": "kk1", "reference": ""},
        {"reference": "a"},
        {"kind": "kk1\x00", "reference": "a"},
        {"kind": "kk1", "reference": "a\x00"},
    ):
        response = await client.post(url, json=bad, headers=w.branch.headers)
        assert response.status_code == 422 and response.json()["code"] == "validation_error"
    first = await client.post(
        url, json={"kind": "KK1", "reference": "KK1-a"}, headers=w.payer.headers
    )
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    again = await client.post(
        url, json={"kind": "kk1", "reference": "KK1-b"}, headers=w.branch.headers
    )
    kk1 = next(d for d in again.json()["documents"] if d["kind"] == "kk1")
    assert (kk1["reference"], kk1["received_by_organization_id"]) == (
        "KK1-b",
        w.branch.organization_id,
    )
    assert "kk1" not in again.json()["documents_missing"]
    # Replays with an Idempotency-Key do not bump the version twice.
    headers = {**w.branch.headers, "Idempotency-Key": "doc-1"}
    one = await client.post(url, json={"kind": "kk2", "reference": "KK2"}, headers=headers)
    two = await client.post(url, json={"kind": "kk2", "reference": "KK2"}, headers=headers)
    assert one.json() == two.json() and two.headers["ETag"] == '"4"'
    outsider = await client.post(
        url, json={"kind": "kk2", "reference": "x"}, headers=w.outsider.headers
    )
    assert outsider.status_code == 404
    no_scope = await issue_key(client, w.counterpart.organization_id, ["coverage:read"])
    response = await client.post(
        url, json={"kind": "kk2", "reference": "x"}, headers=no_scope.headers
    )
    assert response.status_code == 403 and response.json()["code"] == "missing_scope"
    rejected = await move(client, w.branch, claim["id"], '"4"', {"to": "rejected", "note": "n"})
    assert rejected.status_code == 200
    closed = await client.post(
        url, json={"kind": "chronology", "reference": "c"}, headers=w.branch.headers
    )
    assert closed.status_code == 409 and closed.json()["code"] == "claim_closed"
    rows = await session.scalar(
        text(
            "SELECT count(*) FROM claim_documents WHERE claim_id = :id AND received_at IS NOT NULL"
        ),
        {"id": claim["id"]},
    )
    assert rows == 2


async def test_concurrent_transitions_one_wins(
    committing_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        w = await world(committing_client, session)
        registration_id, _ = await w.officer()
        await session.commit()
    claims = [await file(committing_client, w.counterpart, jkk(registration_id))]
    for incident_type in ("commuting_accident", "occupational_disease"):
        body = jkk(registration_id, incident_type=incident_type)
        claims.append(await file(committing_client, w.counterpart, body))
    for claim in claims:
        responses = await asyncio.gather(
            move(committing_client, w.branch, claim["id"], '"1"', {"to": "verified"}),
            move(committing_client, w.branch, claim["id"], '"1"', {"to": "rejected", "note": "n"}),
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 412], [r.text for r in responses]
        winner = next(r for r in responses if r.status_code == 200).json()
        read = await committing_client.get(f"/v1/claims/{claim['id']}", headers=w.branch.headers)
        assert read.json()["status"] == winner["status"]
        assert read.headers["ETag"] == '"2"'
        assert len(read.json()["history"]) == 2


async def test_concurrent_death_claims_one_lands(
    committing_client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        w = await world(committing_client, session)
        registration_id, _ = await w.officer()
        await session.commit()
    responses = await asyncio.gather(
        committing_client.post("/v1/claims", json=jkm(registration_id), headers=w.payer.headers),
        committing_client.post(
            "/v1/claims",
            json=jkk(registration_id, outcome="death", claimant=claimant("child")),
            headers=w.counterpart.headers,
        ),
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    conflict = next(r for r in responses if r.status_code == 409).json()
    assert (conflict["code"], conflict["duplicate_of"]) == ("duplicate_claim", "death")
    listed = await committing_client.get("/v1/claims", headers=w.branch.headers)
    assert len(listed.json()["items"]) == 1
