"""Where the dispatcher runs: inside the app (by default) or as `python -m app dispatch`."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from app.core.clock import in_background
from app.core.database import asyncpg_url, engine_of, plain_url
from app.core.settings import Settings
from app.webhooks.dispatcher import Dispatcher

logger = logging.getLogger("perisai.webhooks")


async def _forever(dispatcher: Dispatcher) -> None:
    while True:
        try:
            await dispatcher.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database went away: start again shortly
            logger.warning("webhook dispatcher stopped", extra={"fields": {"error": repr(exc)}})
        await asyncio.sleep(5)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Merged into the application's lifespan by the webhooks router (after the engine exists);
    nothing runs when WEBHOOK_DISPATCHER=false or the app has no engine of its own."""
    settings: Settings = app.state.settings
    engine = engine_of(app.state.sessionmaker)
    if not settings.webhook_dispatcher or engine is None:
        yield
        return
    dispatcher = Dispatcher(asyncpg_url(engine), settings)
    async with in_background(_forever(dispatcher), "webhooks"):
        yield


def dispatch(url: str, settings: Settings) -> None:
    """`python -m app dispatch`: the dispatcher alone, until interrupted."""
    with suppress(KeyboardInterrupt):
        asyncio.run(_forever(Dispatcher(plain_url(url), settings, name="perisai-dispatch")))
