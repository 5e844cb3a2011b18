"""Demo data for `make run`: an operator organization and its key, loaded once."""

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import ADMIN_PRINCIPAL
from app.models import Organization, OrganizationKind
from app.organizations.schemas import ApiKeyCreate, OrganizationCreate
from app.organizations.service import create_organization, issue_api_key

DEMO_KEYS_FILE = "demo-keys.json"
OPERATOR_NAME = "Perisai Operator (demo)"


async def seed_demo(session: AsyncSession, *, data_dir: Path) -> list[str]:
    """Load the demo data unless present; return lines naming the demo keys."""
    keys_file = data_dir / DEMO_KEYS_FILE
    seeded = await session.scalar(select(Organization.id).where(Organization.name == OPERATOR_NAME))
    if seeded is None:
        _write_keys(keys_file, await _seed(session))
    keys = _read_keys(keys_file)
    if keys is None:
        return ["Demo data present, but its keys file is gone: use `python -m app create-api-key`."]
    return [f"demo key ({label}): {token}" for label, token in keys.items()]


async def _seed(session: AsyncSession) -> dict[str, str]:
    operator = await create_organization(
        session,
        ADMIN_PRINCIPAL,
        data=OrganizationCreate(
            kind=OrganizationKind.OPERATOR, name=OPERATOR_NAME, region_code="31"
        ),
    )
    _, token = await issue_api_key(
        session,
        ADMIN_PRINCIPAL,
        organization_id=operator.id,
        data=ApiKeyCreate(name="demo operator", scopes=["admin"]),
    )
    return {"operator, admin scope": token}


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=2))


def _read_keys(path: Path) -> dict[str, str] | None:
    return dict(json.loads(path.read_text())) if path.exists() else None
