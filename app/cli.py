"""Command line: python -m app serve | migrate | seed-demo | create-api-key."""

import argparse
import asyncio
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config

from app.core.database import async_url, create_engine, create_sessionmaker, resolve_database_url
from app.core.settings import Settings, get_settings

# Where alembic.ini and migrations/ live: the checkout, or PERISAI_HOME in an installed image.
REPO = Path(os.environ.get("PERISAI_HOME") or Path(__file__).resolve().parents[1])


def alembic_config(url: str) -> Config:
    config = Config(str(REPO / "alembic.ini"))
    config.set_main_option("script_location", str(REPO / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


async def _seed_demo(url: str, settings: Settings) -> list[str]:
    from app.demo import seed_demo

    engine = create_engine(url, pool_size=2)
    try:
        async with create_sessionmaker(engine)() as session:
            lines = await seed_demo(session, data_dir=settings.data_dir)
            await session.commit()
            return lines
    finally:
        await engine.dispose()


async def _create_api_key(
    url: str, organization_id: uuid.UUID, name: str, scopes: list[str]
) -> str:
    from app.core.auth import ADMIN_PRINCIPAL
    from app.organizations.schemas import ApiKeyCreate
    from app.organizations.service import issue_api_key

    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            data = ApiKeyCreate.model_validate({"name": name, "scopes": scopes})
            _, token = await issue_api_key(
                session, ADMIN_PRINCIPAL, organization_id=organization_id, data=data
            )
            await session.commit()
            return token
    finally:
        await engine.dispose()


def announce(
    settings: Settings, lines: list[str], *, demo: bool, stream: TextIO | None = None
) -> None:
    """The start-up banner, with the demo keys, on the terminal (stderr). When stderr is no
    terminal (a container's log, a file) it would be read as the log: one JSON line then says
    where the keys are kept instead, so that no key reaches a log."""
    stream = stream or sys.stderr
    base = f"http://{settings.host}:{settings.port}"
    if stream.isatty():
        shown = "".join(f"  {line}\n" for line in lines)
        stream.write(f"\nPerisai is serving on {base}\n  API docs: {base}/docs\n{shown}")
        stream.write("  Stop with Ctrl-C.\n\n")
        stream.flush()
        return
    from app.demo import DEMO_KEYS_FILE

    fields: dict[str, str] = {"url": base, "docs": f"{base}/docs"}
    if demo:
        fields["demo_keys_file"] = str(settings.data_dir / DEMO_KEYS_FILE)
    logging.getLogger("perisai.cli").info("serving", extra={"fields": fields})


def serve(settings: Settings, *, demo: bool) -> None:
    import uvicorn

    url = resolve_database_url(settings)
    # Workers read the same server; the embedded one stays owned (and stopped) by this process.
    os.environ["DATABASE_URL"] = url
    migrate(url)
    lines = asyncio.run(_seed_demo(url, settings)) if demo else []
    announce(settings, lines, demo=demo)
    from app.core.supervisor import supervised  # the embedded server comes back when it dies

    with supervised(settings):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_config=None,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="migrate, optionally seed, and serve the API")
    serve_parser.add_argument("--demo", action="store_true", help="load the demo data once")
    commands.add_parser("migrate", help="apply the Alembic migrations")
    commands.add_parser("seed-demo", help="load the demo organizations and agreements once")
    key_parser = commands.add_parser("create-api-key", help="issue a key for an organization")
    key_parser.add_argument("--organization", type=uuid.UUID, required=True)
    key_parser.add_argument("--name", default="cli key")
    key_parser.add_argument("--scopes", required=True, help="comma-separated scopes")
    args = parser.parse_args(argv)

    from app.core.observability import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    if args.command == "serve":
        serve(settings, demo=args.demo)
        return
    url = resolve_database_url(settings)
    migrate(url)
    if args.command == "seed-demo":
        for line in asyncio.run(_seed_demo(url, settings)):
            print(line)
    elif args.command == "create-api-key":
        scopes = [scope.strip() for scope in args.scopes.split(",") if scope.strip()]
        print(asyncio.run(_create_api_key(url, args.organization, args.name, scopes)))
