"""The API docs pages, /docs (Swagger UI) and /redoc (ReDoc), served with their assets.

The Swagger UI and ReDoc bundles come from the fastapi-offline package (pinned in
pyproject.toml), so that the docs work on a network without internet, as many government
offices and BPJS branch networks are, and nothing on the pages loads from another host: no CDN,
no web fonts. A Content-Security-Policy on the pages holds the browser to that.
"""

import re
from collections.abc import Awaitable, Callable
from functools import cache
from importlib.metadata import version
from importlib.resources import files

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)

ASSETS_PACKAGE = "fastapi-offline"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
# ReDoc's side menu shows Redocly's logo from Redocly's own host, with no option to turn it off.
# An empty src fails at once, without a request, and ReDoc then leaves the logo out.
REDOCLY_LOGO = re.compile(rb'"https://[a-z.]+/redoc/logo-mini\.svg"')
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",  # Swagger UI is started by an inline script
        "style-src 'self' 'unsafe-inline'",  # both render styles inline
        "img-src 'self' data:",
        "worker-src 'self' blob:",  # ReDoc's search runs in a worker made from a blob
    )
)
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY}
# The package version is in the assets' path, so a browser may keep them until an upgrade.
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}

Page = Callable[[Request], Awaitable[Response]]


@cache
def asset(name: str) -> bytes:
    """An asset's bytes as served, read from the package once per process."""
    content = (files("fastapi_offline") / "static" / name).read_bytes()
    if name == "redoc.standalone.js":
        content = REDOCLY_LOGO.sub(b'""', content)
    return content


def assets_path() -> str:
    return f"/docs/assets/{ASSETS_PACKAGE}-{version(ASSETS_PACKAGE)}"


def install_docs(app: FastAPI) -> None:
    """Serve /docs, its OAuth2 redirect, /redoc and their assets (create the app with
    `docs_url=None, redoc_url=None` so that FastAPI's CDN pages are not installed)."""
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url
    assets = assets_path()

    async def swagger_ui(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{assets}/swagger-ui.css",
            swagger_favicon_url=f"{root}{assets}/favicon.png",
            oauth2_redirect_url=root + redirect_url if redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        page.headers.update(PAGE_HEADERS)
        return page

    async def redoc(request: Request) -> Response:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{assets}/favicon.png",
            with_google_fonts=False,
        )
        page.headers.update(PAGE_HEADERS)
        return page

    async def oauth2_redirect(request: Request) -> Response:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    if redirect_url:
        app.add_route(redirect_url, oauth2_redirect, include_in_schema=False)
    for name, media_type in ASSET_TYPES.items():
        app.add_route(f"{assets}/{name}", _asset_route(name, media_type), include_in_schema=False)


def _asset_route(name: str, media_type: str) -> Page:
    async def serve(request: Request) -> Response:
        return Response(asset(name), media_type=media_type, headers=ASSET_HEADERS)

    return serve
