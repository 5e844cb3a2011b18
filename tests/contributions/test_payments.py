"""Payments: who records them, how they settle months, balances, idempotency, bad input."""

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.contributions.helpers import agreement_of, count_payments, officers, parties
from tests.seed import SeededAgreement, seed_registrations

MONTH_DUE = 25 * 16_800  # 420,000 for each of November and December


def payment(amount: int, reference: str, months: list[str]) -> dict[str, Any]:
    return {"amount": amount, "paid_on": "2025-01-10", "reference": reference, "months": months}


async def billed(client: httpx.AsyncClient, session: AsyncSession) -> tuple[Any, SeededAgreement]:
    who = await parties(client)
    agreement = await agreement_of(session, who)
    await seed_registrations(session, agreement=agreement, role="KPPS", officers=officers(25))
    return who, agreement


async def test_partial_then_over_payment_settle_oldest_first_and_leave_a_credit(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who, agreement = await billed(client, session)
    url = f"/v1/agreements/{agreement.id}/payments"

    first = await client.post(
        url, json=payment(300_000, "SP2D/001", ["2024-12", "2024-11"]), headers=who.payer_headers
    )
    balance_after_first = (
        await client.get(f"/v1/agreements/{agreement.id}/balance", headers=who.counterpart_headers)
    ).json()
    second = await client.post(
        url,
        json=payment(600_000, "BANK/REF/77", ["2024-11", "2024-12"]),
        headers=who.branch_headers,
    )
    balance = (
        await client.get(f"/v1/agreements/{agreement.id}/balance", headers=who.payer_headers)
    ).json()

    assert first.status_code == 201, first.text
    assert first.json()["months"] == ["2024-11", "2024-12"]
    assert first.json()["allocations"] == [{"month": "2024-11", "amount": 300_000}]
    assert first.json()["recorded_by_organization_id"] == who.payer
    audited = await session.execute(
        text("SELECT action, detail FROM audit_log WHERE entity_id = :id"),
        {"id": first.json()["id"]},
    )
    assert [tuple(row) for row in audited] == [
        (
            "contribution_payment.create",
            {
                "agreement_id": str(agreement.id),
                "amount": 300_000,
                "months": ["2024-11", "2024-12"],
            },
        )
    ]
    assert balance_after_first["months"] == [
        {
            "month": "2024-11",
            "due": MONTH_DUE,
            "paid": 300_000,
            "outstanding": 120_000,
            "credit": 0,
        },
        {"month": "2024-12", "due": MONTH_DUE, "paid": 0, "outstanding": MONTH_DUE, "credit": 0},
    ]
    assert second.status_code == 201, second.text
    assert second.json()["allocations"] == [
        {"month": "2024-11", "amount": 120_000},
        {"month": "2024-12", "amount": 480_000},
    ]
    assert balance["months"][1] == {
        "month": "2024-12",
        "due": MONTH_DUE,
        "paid": 480_000,
        "outstanding": 0,
        "credit": 60_000,
    }
    assert balance["totals"] == {
        "due": 2 * MONTH_DUE,
        "paid": 900_000,
        "outstanding": 0,
        "credit": 60_000,
    }


async def test_full_payment_list_and_idempotent_replay(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who, agreement = await billed(client, session)
    url = f"/v1/agreements/{agreement.id}/payments"
    body = payment(2 * MONTH_DUE, "SP2D/FULL", ["2024-11", "2024-12"])
    headers = who.payer_headers | {"Idempotency-Key": "pay-full-1"}

    created = await client.post(url, json=body, headers=headers)
    replayed = await client.post(url, json=body, headers=headers)
    await client.post(
        url,
        json=payment(1_000, "SP2D/LATE", ["2024-12"]) | {"paid_on": "2025-01-11"},
        headers=headers | {"Idempotency-Key": "pay-late"},
    )
    page = await client.get(f"{url}?limit=1", headers=who.counterpart_headers)
    rest = await client.get(
        f"{url}?limit=1&cursor={page.json()['next_cursor']}", headers=who.counterpart_headers
    )
    balance = await client.get(f"/v1/agreements/{agreement.id}/balance", headers=who.payer_headers)

    assert created.status_code == 201, created.text
    assert created.json()["allocations"] == [
        {"month": "2024-11", "amount": MONTH_DUE},
        {"month": "2024-12", "amount": MONTH_DUE},
    ]
    assert replayed.status_code == 201
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == created.json()
    assert await count_payments(session, agreement) == 2
    assert [p["reference"] for p in page.json()["items"]] == ["SP2D/FULL"]
    assert page.json()["items"][0]["allocations"] == created.json()["allocations"]
    assert [p["reference"] for p in rest.json()["items"]] == ["SP2D/LATE"]
    assert rest.json()["next_cursor"] is None
    assert balance.json()["totals"] == {
        "due": 2 * MONTH_DUE,
        "paid": 2 * MONTH_DUE + 1_000,
        "outstanding": 0,
        "credit": 1_000,
    }


async def test_who_may_record_a_payment(client: httpx.AsyncClient, session: AsyncSession) -> None:
    who, agreement = await billed(client, session)
    url = f"/v1/agreements/{agreement.id}/payments"

    counterpart = await client.post(
        url, json=payment(1_000, "A", ["2024-11"]), headers=who.counterpart_headers
    )
    outsider = await client.post(
        url, json=payment(1_000, "B", ["2024-11"]), headers=who.outsider_headers
    )
    read_only = await client.post(
        url, json=payment(1_000, "C", ["2024-11"]), headers=who.no_scope_headers
    )
    listed_by_outsider = await client.get(url, headers=who.outsider_headers)
    listed_without_scope = await client.get(url, headers=who.no_scope_headers)
    operator = await client.post(
        url,
        json=payment(1_000, "D", ["2024-11"]),
        headers={"Authorization": "Bearer test-admin-key-" + "x" * 32},
    )

    assert counterpart.status_code == 403
    assert counterpart.json()["code"] == "payment_not_allowed"
    assert outsider.status_code == 404
    assert read_only.status_code == 403
    assert read_only.json()["code"] == "missing_scope"
    assert listed_by_outsider.status_code == 404
    assert listed_without_scope.status_code == 403
    assert operator.status_code == 201
    assert await count_payments(session, agreement) == 1


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"amount": 0}, 422, "validation_error"),
        ({"amount": -5}, 422, "validation_error"),
        ({"amount": "1000"}, 422, "validation_error"),
        ({"amount": 10**14}, 422, "validation_error"),
        ({"months": []}, 422, "validation_error"),
        ({"months": ["2024-1"]}, 422, "validation_error"),
        ({"months": ["2024-11", "2024-11"]}, 422, "duplicate_month"),
        ({"months": ["2024-11", "2025-01"]}, 422, "month_outside_agreement"),
        ({"months": ["2024-10"]}, 422, "month_outside_agreement"),
        ({"reference": "  "}, 422, "validation_error"),
        ({"reference": "SP2D/001"}, 409, "payment_reference_exists"),
        ({"paid_on": "10-01-2025"}, 422, "validation_error"),
        ({"paid_on": (date.today() + timedelta(days=3)).isoformat()}, 422, "paid_on_in_future"),
        ({"note": "extra"}, 422, "validation_error"),
    ],
)
async def test_bad_payments_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    change: dict[str, Any],
    status: int,
    code: str,
) -> None:
    who, agreement = await billed(client, session)
    url = f"/v1/agreements/{agreement.id}/payments"
    first = await client.post(
        url, json=payment(1_000, "SP2D/001", ["2024-11"]), headers=who.payer_headers
    )
    assert first.status_code == 201

    response = await client.post(
        url, json=payment(5_000, "SP2D/002", ["2024-11"]) | change, headers=who.payer_headers
    )

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert await count_payments(session, agreement) == 1


async def test_payment_to_unknown_agreement_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who, _ = await billed(client, session)
    response = await client.post(
        "/v1/agreements/00000000-0000-4000-8000-000000000000/payments",
        json=payment(1_000, "X", ["2024-11"]),
        headers=who.payer_headers,
    )
    assert response.status_code == 404
    assert response.json()["code"] == "agreement_not_found"


async def test_database_refuses_payments_that_do_not_add_up(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    who, agreement = await billed(client, session)
    insert_payment = text(
        "INSERT INTO contribution_payments (id, agreement_id, reference, amount, paid_on, months) "
        "VALUES (:id, :agreement, :reference, :amount, '2025-01-10', ARRAY[DATE '2024-11-01']) "
    )
    allocate = text(
        "INSERT INTO contribution_allocations (payment_id, agreement_id, month, amount) "
        "VALUES (:id, :agreement, :month, :amount)"
    )
    ids = iter(f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 10))

    async def refused(*steps: tuple[Any, dict[str, Any]]) -> None:
        with pytest.raises((IntegrityError, DBAPIError)):
            async with session.begin_nested():
                for statement, params in steps:
                    await session.execute(statement, params)
                await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
        await session.execute(text("SET CONSTRAINTS ALL DEFERRED"))

    base = {"agreement": agreement.id, "reference": "R", "amount": 1_000}
    first = next(ids)
    # allocations short of the amount
    await refused(
        (insert_payment, base | {"id": first}),
        (
            allocate,
            {"id": first, "agreement": agreement.id, "month": date(2024, 11, 1), "amount": 999},
        ),
    )
    # no allocation at all
    await refused((insert_payment, base | {"id": next(ids)}))
    # a month that is not the first of a month
    second = next(ids)
    await refused(
        (insert_payment, base | {"id": second}),
        (
            allocate,
            {"id": second, "agreement": agreement.id, "month": date(2024, 11, 2), "amount": 1_000},
        ),
    )
    # an allocation filed under another agreement than its payment's
    other = await agreement_of(session, who)
    third = next(ids)
    await refused(
        (insert_payment, base | {"id": third}),
        (
            allocate,
            {"id": third, "agreement": other.id, "month": date(2024, 11, 1), "amount": 1_000},
        ),
    )
    # a zero amount
    await refused((insert_payment, base | {"id": next(ids), "amount": 0}))
    # a balanced payment is accepted, and its reference cannot be used twice
    fourth = next(ids)
    async with session.begin_nested():
        await session.execute(insert_payment, base | {"id": fourth})
        await session.execute(
            allocate,
            {"id": fourth, "agreement": agreement.id, "month": date(2024, 11, 1), "amount": 1_000},
        )
        await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    await session.execute(text("SET CONSTRAINTS ALL DEFERRED"))
    await refused((insert_payment, base | {"id": next(ids)}))
    assert await count_payments(session, agreement) == 1
