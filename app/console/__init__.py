"""The operator console: server-rendered pages in Bahasa Indonesia under /console, over the same
services, scopes and party rules as the API (see README, "Operator console")."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.console import pages, rosters, work
from app.console.rendering import HERE
from app.console.routing import install_error_pages


def install_console(app: FastAPI) -> None:
    for router in (pages.router, rosters.pages, rosters.scripts, work.router):
        app.include_router(router)
    install_error_pages(app)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
