"""Schemathesis against the app's own OpenAPI schema, every operation, with a key of every
organization kind, valid and invalid requests alike: no server error, and every response
conforms to the document (its status is declared, its content type is, and its body matches
the schema).

The app runs under a real uvicorn on a free port against the session's database, seeded
through the API with one organization and key of each kind and an active agreement with a
roster, so that generated requests reach real resources as well as missing ones. The seed is
fixed; what the requests create is committed, then truncated when the test ends.
"""

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
import uvicorn
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from app.main import create_app
from app.models.organization import OrganizationKind
from tests.conftest import ADMIN_KEY, app_settings, truncate_non_reference_tables
from tests.factories import ALL_SCOPES, create_key, create_organization

EXAMPLES_PER_OPERATION = 50  # 46 operations, a few with fewer distinct cases: over 2,000
SEED = 20261203
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROSTER = Path(__file__).parent / "data" / "roster-kpps-asahan-sample.csv"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_started(server: uvicorn.Server, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
async def live_url(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(app_settings(database_url)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    await asyncio.to_thread(wait_until_started, server)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        await truncate_non_reference_tables(engine)


@dataclass
class World:
    """A key per organization kind, and ids of real resources to put in paths."""

    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)


async def _agreement(client: httpx.AsyncClient, world: World, organizations: dict[str, str]) -> str:
    branch, kpu = world.keys["bpjs_branch"], world.keys["kpu"]
    created = await client.post(
        "/v1/agreements",
        headers=branch,
        json={
            "number": "PKS/FUZZ/2024",
            "bpjs_branch_id": organizations["bpjs_branch"],
            "counterpart_id": organizations["kpu"],
            "payer_id": organizations["government"],
            "election": "pilkada-2024",
            "region_code": "12.09",
            "signed_on": "2024-10-30",
            "cohorts": [
                {
                    "role": "KPPS",
                    "planned_headcount": 100,
                    "coverage_start": "2024-11-01",
                    "coverage_end": "2024-12-31",
                }
            ],
        },
    )
    assert created.status_code == 201, created.text
    agreement = created.json()
    activated = await client.post(f"/v1/agreements/{agreement['id']}/activate", headers=branch)
    assert activated.status_code == 200, activated.text
    pushed = await client.post(
        f"/v1/agreements/{agreement['id']}/rosters",
        content=ROSTER.read_bytes(),
        headers={**kpu, "Content-Type": "text/csv"},
    )
    assert pushed.status_code == 201, pushed.text
    world.ids["cohort_id"] = [agreement["cohorts"][0]["id"]]
    world.ids["batch_id"] = [pushed.json()["id"]]
    return str(agreement["id"])


async def seed(base_url: str) -> World:
    world = World()
    organizations: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for kind in OrganizationKind:
            organization = await create_organization(client, kind.value)
            organizations[kind.value] = organization["id"]
            scopes = [*ALL_SCOPES, "admin"] if kind is OrganizationKind.OPERATOR else ALL_SCOPES
            world.keys[kind.value] = await create_key(client, organization["id"], scopes)
        # A key with one scope, so that the 403 answers are checked too.
        world.keys["kpu, agreements:read only"] = await create_key(
            client, organizations["kpu"], ["agreements:read"]
        )
        world.ids["agreement_id"] = [await _agreement(client, world, organizations)]
        listed = await client.get("/v1/registrations", headers=world.keys["kpu"])
        registrations = listed.json()["items"]
        world.ids["registration_id"] = [str(item["id"]) for item in registrations[:3]]
        pii = await client.get(
            f"/v1/registrations/{registrations[0]['id']}", headers=world.keys["bpjs_branch"]
        )
        world.ids["nik"] = [pii.json()["nik"], "1209185705900001"]
    world.ids["organization_id"] = list(organizations.values())
    world.ids["code"] = ["12.09", "pilkada-2024"]
    return world


@dataclass
class Tally:
    cases: int = 0
    calling: float = 0.0  # seconds spent waiting for the server
    failures: list[str] = field(default_factory=list)


def fuzz_operations(base_url: str, world: World) -> Tally:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    callers = [ADMIN, *world.keys.values()]
    tally = Tally()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            tally.failures.append(f"the schema has an invalid operation: {result.err()}")
            continue
        operation = result.ok()

        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @hypothesis.given(case=cases, data=st.data())
        @hypothesis.settings(
            max_examples=EXAMPLES_PER_OPERATION,
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.seed(SEED)
        def check(case: schemathesis.Case[Any], data: st.DataObject) -> None:
            for name in case.path_parameters or {}:
                real = world.ids.get(name)
                if real and data.draw(st.booleans()):
                    case.path_parameters[name] = data.draw(st.sampled_from(real))
            headers = data.draw(st.sampled_from(callers))
            tally.cases += 1
            sent = time.monotonic()
            response = case.call(base_url=base_url, headers=headers)
            tally.calling += time.monotonic() - sent
            case.validate_response(response, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # a run reports every operation
            tally.failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    return tally


async def test_api_honours_its_schema(live_url: str) -> None:
    world = await seed(live_url)
    started = time.monotonic()
    tally = await asyncio.to_thread(fuzz_operations, live_url, world)
    elapsed = time.monotonic() - started
    print(
        f"\nschemathesis: {tally.cases} cases in {elapsed:.0f} s, {tally.calling:.0f} s of it calls"
    )
    assert not tally.failures, "\n\n".join(tally.failures)
    assert tally.cases >= 2_000
