"""Every route that takes an id, called with the key of an unrelated organization: nothing leaks.

The routes come from the app's router table, so a new route is covered without anyone listing
it here; a path parameter that `seed_world` cannot fill fails the test until it is named there.
An unrelated organization gets 404, exactly as for an id that does not exist (DESIGN.md, auth),
or 403 on operator-only routes; reference data answers 200 and coverage answers 200 masked.
Its calls change no row, and the owners still reach every id, so the 404s are not for nothing.
"""

import inspect
import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant, get_flat_params
from fastapi.routing import APIRoute, _IncludedRouter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.routing import BaseRoute

from app.core.auth import SCOPES, bearer, require
from app.core.errors import PROBLEM_JSON
from app.main import create_app
from app.nik import mask_nik
from tests.claims.helpers import jkk
from tests.conftest import app_settings
from tests.factories import ADMIN, create_organization, issue_key, organization_with_key
from tests.seed import make_nik, seed_agreement

PATH_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
OTHER_PROVINCE = "16.12"  # PALI, South Sumatra; the seeded agreement is in Asahan, North Sumatra
NOT_LOGGED_TABLES = {"access_log"}  # coverage reads are logged by design, even an outsider's
NO_BODY = object()
SERIALS = itertools.count(4_001)  # NIK serials of A's officers, one per seeded world
NON_ADMIN_SCOPES = [scope for scope in SCOPES if scope != "admin"]


# --- the router table ---------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One method of one route, with every dependency callable its requests go through."""

    method: str
    path: str
    route: APIRoute
    calls: tuple[Callable[..., Any], ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def parameters(self) -> list[str]:
        return PATH_PARAMETER.findall(self.path)

    @property
    def needs_key(self) -> bool:
        return any(call is bearer for call in self.calls)

    @property
    def required_scopes(self) -> set[str]:
        return {scope for call in self.calls for scope in _scopes_required_by(call)}

    @property
    def operator_only(self) -> bool:
        return "admin" in self.required_scopes

    @property
    def public_reference(self) -> bool:
        return "reference" in self.route.tags and self.method == "GET"

    @property
    def takes_if_match(self) -> bool:
        return any(
            (param.alias or param.name).replace("_", "-").lower() == "if-match"
            for param in get_flat_params(self.route.dependant)
        )


def _scopes_required_by(call: Callable[..., Any]) -> tuple[str, ...]:
    """The scopes of a check made by `require(...)`; () for any other dependency."""
    if not getattr(call, "__qualname__", "").startswith(f"{require.__qualname__}.<locals>."):
        return ()
    scopes: tuple[str, ...] = inspect.getclosurevars(call).nonlocals["scopes"]
    return scopes


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


def operations(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[Operation]:
    """Every API operation under `routes`, walking included routers with their prefixes."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            context = route.include_context
            yield from _included(route.original_router.routes, prefix + context.prefix, context)
        elif isinstance(route, APIRoute):
            calls = tuple(_dependency_calls(route.dependant))
            for method in sorted(route.methods or ()):
                yield Operation(method, prefix + route.path, route, calls)


def _included(routes: Sequence[BaseRoute], prefix: str, context: Any) -> Iterator[Operation]:
    shared: list[Callable[..., Any]] = []
    for depends in context.dependencies:
        shared.append(depends.dependency)
        shared.extend(_dependency_calls(get_dependant(path=prefix, call=depends.dependency)))
    for operation in operations(routes, prefix):
        yield Operation(
            operation.method, operation.path, operation.route, (*shared, *operation.calls)
        )


ROUTE_TABLE = list(operations(create_app(app_settings("postgresql://unused/unused")).routes))
KEYED = [operation for operation in ROUTE_TABLE if operation.path.startswith("/v1/")]
BY_ID = [operation for operation in ROUTE_TABLE if operation.parameters]


# --- organization A's world --------------------------------------------------------------------


@dataclass
class World:
    """Organization A's objects: the values of every path parameter, and what must not leak."""

    values: dict[str, str]
    etags: dict[str, str]
    secrets: dict[str, str]
    owners: list[dict[str, str]] = field(default_factory=list)

    def value_key(self, operation: Operation, name: str) -> str | None:
        """`code` of /regions/{code} is `regions.code`; a name used once is itself."""
        segments = operation.path.split("/")
        resource = segments[segments.index(f"{{{name}}}") - 1]
        for key in (f"{resource}.{name}", name):
            if key in self.values:
                return key
        return None

    def path(self, operation: Operation, *, missing: bool = False) -> str:
        path = operation.path
        for name in operation.parameters:
            key = self.value_key(operation, name)
            assert key is not None, f"{operation}: no value for {{{name}}}; add it to seed_world"
            value = missing_value(self.values[key]) if missing else self.values[key]
            path = path.replace(f"{{{name}}}", value)
        return path

    def if_match(self, operation: Operation) -> dict[str, str]:
        if not operation.takes_if_match:
            return {}
        for name in operation.parameters:
            if name in self.etags:
                return {"If-Match": self.etags[name]}
        return {}


def missing_value(value: str) -> str:
    """A value of the same form as `value` that names nothing."""
    if re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", value):
        return str(uuid.uuid4())
    if value.isdigit() and len(value) == 16:
        return str(make_nik("12.09.18", date(1991, 1, 2), "L", 9_999))
    if value.isdigit():
        return str(2**62)
    raise AssertionError(f"no missing form for {value!r}; teach missing_value")


async def seed_world(client: httpx.AsyncClient, session: AsyncSession) -> World:
    """A's BPJS branch and KPU, an active agreement with a cohort, a pushed roster (one
    registration, one rejected row), a KPJ number, a claim and a payment."""
    tag = uuid.uuid4().hex[:8]
    branch = await create_organization(client, "bpjs_branch")
    counterpart = await create_organization(client, "kpu")
    branch_headers = (await issue_key(client, branch["id"], NON_ADMIN_SCOPES)).headers
    counterpart_headers = (await issue_key(client, counterpart["id"], NON_ADMIN_SCOPES)).headers
    key_id = (await issue_key(client, counterpart["id"], ["reports:read"])).key_id  # to be revoked
    agreement = await seed_agreement(
        session,
        bpjs_branch_id=branch["id"],
        counterpart_id=counterpart["id"],
        number=f"PKS/GUARD/{tag}",
    )
    await session.commit()

    nik = str(make_nik("12.09.18", date(1990, 5, 17), "P", next(SERIALS)))
    name = f"Rahmawati Penanda {tag}"
    officer = {
        "nik": nik,
        "full_name": name,
        "birth_date": "1990-05-17",
        "sex": "P",
        "role": "KPPS",
        "region_code": "12.09.18.2002",
        "tps": "019",
    }
    rejected = {**officer, "nik": "1209180000000000", "full_name": f"Ditolak {tag}"}
    pushed = await client.post(
        f"/v1/agreements/{agreement.id}/rosters",
        json={"officers": [officer, rejected]},
        headers=counterpart_headers,
    )
    assert pushed.status_code == 201, pushed.text
    batch = pushed.json()
    assert batch["counts"].get("created") == 1 and batch["counts"].get("rejected") == 1, batch

    listed = await client.get(
        "/v1/registrations", params={"agreement_id": str(agreement.id)}, headers=branch_headers
    )
    [registration] = listed.json()["items"]
    kpj = "24" + tag.translate(str.maketrans("abcdef", "123456"))[:8] + "7"
    set_kpj = await client.patch(
        f"/v1/registrations/{registration['id']}", json={"kpj": kpj}, headers=branch_headers
    )
    assert set_kpj.status_code == 200, set_kpj.text

    place = f"TPS 019 Penanda {tag}"
    claim = await client.post(
        "/v1/claims", json=jkk(registration["id"], place=place), headers=counterpart_headers
    )
    assert claim.status_code == 201, claim.text

    reference = f"SP2D/GUARD/{tag}"
    payment = await client.post(
        f"/v1/agreements/{agreement.id}/payments",
        json={
            "amount": 16_800,
            "paid_on": "2025-01-10",
            "reference": reference,
            "months": ["2024-11"],
        },
        headers=branch_headers,
    )
    assert payment.status_code == 201, payment.text

    read = await client.get(f"/v1/agreements/{agreement.id}", headers=branch_headers)
    return World(
        values={
            "organization_id": counterpart["id"],
            "key_id": key_id,
            "agreement_id": str(agreement.id),
            "cohort_id": str(agreement.cohorts["KPPS"]),
            "batch_id": batch["id"],
            "registration_id": str(registration["id"]),
            "claim_id": claim.json()["id"],
            "nik": nik,
            "regions.code": "12.09.18",
            "elections.code": "pilkada-2024",
        },
        etags={"agreement_id": read.headers["ETag"], "claim_id": claim.headers["ETag"]},
        secrets={
            "officer's name": name,
            "rejected row's name": rejected["full_name"],
            "NIK": nik,
            "KPJ": kpj,
            "agreement number": agreement.number,
            "claim's place": place,
            "payment reference": reference,
        },
        owners=[branch_headers, counterpart_headers],
    )


# --- requests --------------------------------------------------------------------------------


def example_body(spec: dict[str, Any], operation: Operation) -> Any:
    """The first JSON example the OpenAPI docs give for the operation's body."""
    described = spec["paths"][operation.path][operation.method.lower()]
    if "requestBody" not in described:
        return NO_BODY
    content = described["requestBody"]["content"].get("application/json", {})
    if "example" in content:
        return content["example"]
    if "examples" in content:
        return next(iter(content["examples"].values()))["value"]
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    examples = schema.get("examples")
    assert examples, f"{operation}: its body has no example in the OpenAPI docs; add one"
    return examples[0]


async def call(
    client: httpx.AsyncClient,
    operation: Operation,
    path: str,
    headers: dict[str, str],
    body: Any,
) -> httpx.Response:
    if body is NO_BODY:
        return await client.request(operation.method, path, headers=headers)
    return await client.request(operation.method, path, headers=headers, json=body)


def expected_status(operation: Operation) -> int:
    if operation.operator_only:
        return 403
    if operation.public_reference or "nik" in operation.parameters:
        return 200
    return 404


def problem_code(response: httpx.Response) -> str | None:
    if response.headers.get("content-type") != PROBLEM_JSON:
        return None
    code: str = response.json().get("code")
    return code


@dataclass
class Outsider:
    headers: dict[str, str]
    scopes: list[str]

    def may_see(self, operation: Operation) -> set[str]:
        """Which of A's secrets the answer may hold: a coverage answer names the agreement that
        covers the NIK (DESIGN.md 3) and, to a pii:read key, echoes the NIK it was asked."""
        if "nik" not in operation.parameters:
            return set()
        return {"agreement number"} | ({"NIK"} if "pii:read" in self.scopes else set())


def masking_failures(response: httpx.Response, world: World, outsider: Outsider) -> list[str]:
    answer = response.json()
    failures = []
    if "pii:read" not in outsider.scopes and answer.get("nik") != mask_nik(world.values["nik"]):
        failures.append(f"shows the NIK as {answer.get('nik')!r} to a key without pii:read")
    registrations = answer.get("registrations", [])
    if not registrations:
        failures.append("shows no registration: the NIK asked is not A's officer's")
    for index, registration in enumerate(registrations):
        if registration.get("masked") is not True:
            failures.append(f"registration {index} is not masked")
        shown = [name for name in ("full_name", "birth_date", "kpj") if registration.get(name)]
        if shown:
            failures.append(f"registration {index} shows {shown}")
    return failures


async def outsider_failures(
    client: httpx.AsyncClient,
    operation: Operation,
    world: World,
    outsider: Outsider,
    body: Any,
) -> list[str]:
    headers = {**outsider.headers, **world.if_match(operation)}
    response = await call(client, operation, world.path(operation), headers, body)
    expected = expected_status(operation)
    failures = []
    if response.status_code != expected:
        failures.append(f"answered {response.status_code}, expected {expected}: {response.text}")
    may_see = outsider.may_see(operation)
    leaked = [
        label
        for label, secret in world.secrets.items()
        if secret in response.text and label not in may_see
    ]
    if leaked:
        failures.append(f"shows A's {leaked}")
    if expected == 200 and "nik" in operation.parameters and response.status_code == 200:
        failures.extend(masking_failures(response, world, outsider))
    if expected in (403, 404) and problem_code(response) is None:
        failures.append("is not problem+json with a code")
    if expected in (403, 404):
        missing = await call(client, operation, world.path(operation, missing=True), headers, body)
        seen = (response.status_code, problem_code(response))
        unseen = (missing.status_code, problem_code(missing))
        if seen != unseen:
            failures.append(f"answered {seen} where a missing id answers {unseen}")
    return [f"{operation}: {failure}" for failure in failures]


async def visible_to_owner(
    client: httpx.AsyncClient, operation: Operation, world: World, body: Any
) -> bool:
    """Whether an owner of the ids (a party of A, or the admin for operator routes) reaches
    them: any answer but 401 and 404, and no 5xx."""
    owners = [ADMIN] if operation.operator_only else world.owners
    for owner in owners:
        headers = {**owner, **world.if_match(operation)}
        response = await call(client, operation, world.path(operation), headers, body)
        assert response.status_code < 500, f"{operation}: {response.status_code} {response.text}"
        if response.status_code not in (401, 404):
            return True
    return False


async def table_fingerprints(session: AsyncSession) -> dict[str, str]:
    """A digest of every row of every table but the access log, by table."""
    names = (
        await session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    ).scalars()
    digests = {}
    for name in sorted(set(names) - NOT_LOGGED_TABLES):
        rows = f'(SELECT t::text AS row FROM "{name}" t) rows'
        digests[name] = await session.scalar(
            text(f"SELECT md5(coalesce(string_agg(row, '|' ORDER BY row), '')) FROM {rows}")
        )
    return digests


# --- tests -----------------------------------------------------------------------------------


def test_the_route_table_is_walked() -> None:
    """The walk finds the routes of every router, with their scopes, or the guard guards nothing."""
    found = {str(operation) for operation in BY_ID}
    assert {"GET /v1/agreements/{agreement_id}", "GET /v1/coverage/{nik}"} <= found
    assert {"POST /v1/claims/{claim_id}/transitions", "DELETE /v1/api-keys/{key_id}"} <= found
    revoke = next(op for op in BY_ID if str(op) == "DELETE /v1/api-keys/{key_id}")
    assert revoke.operator_only and revoke.needs_key
    assert all(operation.needs_key for operation in KEYED)


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [
        ("bpjs_branch", NON_ADMIN_SCOPES),
        ("kpu", NON_ADMIN_SCOPES),
        ("integrator", NON_ADMIN_SCOPES),
        ("integrator", [scope for scope in NON_ADMIN_SCOPES if scope != "pii:read"]),
    ],
    ids=["bpjs_branch", "kpu", "integrator", "integrator-without-pii"],
)
async def test_unrelated_organization_reaches_nothing_by_id(
    client: httpx.AsyncClient, session: AsyncSession, app: FastAPI, kind: str, scopes: list[str]
) -> None:
    world = await seed_world(client, session)
    _, headers = await organization_with_key(client, kind, OTHER_PROVINCE, scopes=scopes)
    outsider = Outsider(headers, scopes)
    by_id = [operation for operation in operations(app.routes) if operation.parameters]
    unknown = [
        f"{operation}: {{{name}}}"
        for operation in by_id
        for name in operation.parameters
        if world.value_key(operation, name) is None
    ]
    assert unknown == [], "seed_world has no value for these path parameters: add them"
    spec = app.openapi()
    bodies = {str(operation): example_body(spec, operation) for operation in by_id}
    before = await table_fingerprints(session)

    failures = []
    for operation in by_id:
        body = bodies[str(operation)]
        failures.extend(await outsider_failures(client, operation, world, outsider, body))
    assert not failures, "\n".join(failures)

    after = await table_fingerprints(session)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == [], "the outsider's calls changed these tables"

    hidden = [
        str(operation)
        for operation in by_id
        if not await visible_to_owner(client, operation, world, bodies[str(operation)])
    ]
    assert hidden == [], "these ids are not A's, so the 404s above prove nothing"


def _placeholder(operation: Operation, name: str) -> str:
    [param] = [p for p in get_flat_params(operation.route.dependant) if p.name == name]
    return str(uuid.uuid4()) if param.field_info.annotation is uuid.UUID else "1"


@pytest.mark.parametrize("operation", KEYED, ids=str)
async def test_every_v1_route_needs_a_key(client: httpx.AsyncClient, operation: Operation) -> None:
    path = operation.path
    for name in operation.parameters:
        path = path.replace(f"{{{name}}}", _placeholder(operation, name))
    response = await client.request(operation.method, path)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "unauthorized"
