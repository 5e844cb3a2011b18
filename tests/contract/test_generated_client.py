"""A partner's first hour: generate a Python client from /openapi.json with openapi-python-client,
with no warning, and call the real server through it."""

import datetime
import importlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import ADMIN_KEY, truncate_non_reference_tables
from tests.live_server import real_server

BIN = Path(sys.executable).parent
PACKAGE = "perisai_client"
# The generator reads only JSON, forms and octet-stream bodies; a partner maps the roster's
# other media types to bytes, as this configuration does (which skips formatting the code).
CONFIG = """
post_hooks: []
content_type_overrides:
  application/x-ndjson: application/octet-stream
  text/csv: application/octet-stream
  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream
  application/vnd.ms-excel: application/octet-stream
  application/x-www-form-urlencoded: application/octet-stream
  text/plain: application/octet-stream
"""


def generate(spec: dict[str, Any], where: Path) -> str:
    (where / "openapi.json").write_text(json.dumps(spec))
    (where / "config.yaml").write_text(CONFIG)
    done = subprocess.run(  # noqa: S603 - the generator from this venv, on a file we wrote
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(where / "openapi.json"),
            "--config",
            str(where / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(where / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": str(BIN)},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:
    from app.main import create_app
    from tests.conftest import app_settings

    where = tmp_path_factory.mktemp("client")
    output = generate(create_app(app_settings(database_url)).openapi(), where)
    sys.path.insert(0, str(where))
    try:
        yield output
    finally:
        sys.path.remove(str(where))
        for name in [name for name in sys.modules if name.startswith(PACKAGE)]:
            del sys.modules[name]


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_client_generates_without_warnings(generated: str) -> None:
    assert "Generating" in generated
    assert "warning" not in generated.lower(), generated


def test_the_client_names_operations_after_what_they_do(generated: str) -> None:
    for name in ("rosters.push_roster", "coverage.check_coverage", "contributions.get_summary"):
        assert hasattr(module(f"api.{name}"), "sync"), name


@pytest.fixture(scope="module")
async def server(database_url: str, engine: AsyncEngine) -> AsyncIterator[str]:
    """A real server on the session's database; what it commits is truncated afterwards."""
    try:
        with real_server(database_url, ADMIN_KEY) as base:
            yield base
    finally:
        await truncate_non_reference_tables(engine)


async def test_three_endpoints_through_the_generated_client(generated: str, server: str) -> None:
    models = module("models")
    client_module = module("client")
    admin = client_module.AuthenticatedClient(base_url=server, token=ADMIN_KEY)
    organization = module("api.organizations.create_organization").sync(
        client=admin,
        body=models.OrganizationCreate(
            kind=models.OrganizationKind.INTEGRATOR,
            name="RSUD Kisaran (client test)",
            region_code="12.09",
        ),
    )
    issued = module("api.organizations.issue_api_key").sync(
        organization.id,
        client=admin,
        body=models.ApiKeyCreate(
            name="hospital", scopes=[models.ApiKeyCreateScopesItem("coverage:read")]
        ),
    )
    hospital = client_module.AuthenticatedClient(base_url=server, token=issued.key)
    roles = module("api.reference.list_roles").sync(client=hospital)
    checks = module("api.coverage.check_coverage").sync(
        client=hospital,
        body=models.CoverageCheckRequest(
            on=datetime.date(2024, 11, 27), niks=["1209185705900001", "12"]
        ),
    )
    refused = module("api.reference.list_roles").sync(
        client=client_module.AuthenticatedClient(base_url=server, token="pk_wrong.key")
    )

    assert isinstance(organization, models.OrganizationRead)
    assert organization.name == "RSUD Kisaran (client test)"
    assert isinstance(issued, models.ApiKeyIssued)
    assert "KPPS" in {role.code for role in roles.items}
    assert isinstance(checks, models.CoverageChecksRead)
    assert checks.results[0].reason == "not_registered"
    assert checks.results[1].error.code == "invalid_nik"
    assert isinstance(refused, models.Problem)
    assert refused.code == models.ProblemCode.UNAUTHORIZED


async def test_an_agreement_summary_through_the_generated_client(
    generated: str, server: str
) -> None:
    # Two schemas titled ClaimSummary once made the generator drop one: the summary was None.
    models = module("models")
    admin = module("client").AuthenticatedClient(base_url=server, token=ADMIN_KEY)
    create_organization = module("api.organizations.create_organization").sync
    branch, kpu = (
        create_organization(
            client=admin,
            body=models.OrganizationCreate(kind=kind, name=f"{kind} (client)", region_code="12.09"),
        )
        for kind in (models.OrganizationKind.BPJS_BRANCH, models.OrganizationKind.KPU)
    )
    cohort = models.CohortCreate(
        role="KPPS",
        planned_headcount=12465,
        coverage_start=datetime.date(2024, 11, 1),
        coverage_end=datetime.date(2024, 12, 31),
    )
    agreement = module("api.agreements.create_agreement").sync(
        client=admin,
        body=models.AgreementCreate(
            number="PKS/CLIENT/2024",
            bpjs_branch_id=branch.id,
            counterpart_id=kpu.id,
            election="pilkada-2024",
            region_code="12.09",
            cohorts=[cohort],
        ),
    )

    summary = module("api.contributions.get_summary").sync(agreement.id, client=admin)

    assert isinstance(summary, models.SummaryRead)
    assert [(c.role, c.planned) for c in summary.cohorts] == [("KPPS", 12465)]
    assert summary.claims == []
