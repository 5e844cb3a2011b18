"""The docs pages load everything from the service itself: a partner without internet sees
them (the browser test, tests/test_docs_browser.py, looks at them in Chromium)."""

import re

import httpx
import pytest
from fastapi import FastAPI

REFERENCE = re.compile(r'(?:src|href|spec-url)="([^"]*)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_loads_only_from_the_service(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    references = REFERENCE.findall(response.text)
    assert references, response.text
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), url
        loaded = await client.get(url)
        assert loaded.status_code == 200, url
        assert loaded.content, url


async def test_redoc_is_served_without_the_logo_from_redoclys_cdn(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/redoc")).text
    bundle = next(url for url in REFERENCE.findall(page) if url.endswith("redoc.standalone.js"))
    response = await client.get(bundle)
    assert response.headers["content-type"].startswith("text/javascript")
    assert b"Redoc" in response.content
    assert b"cdn.redoc.ly" not in response.content


async def test_the_oauth2_redirect_of_swagger_ui_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "oauth2" in response.text.lower()


async def test_behind_a_path_prefix_the_pages_load_their_assets_under_it(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, root_path="/perisai")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        page = (await client.get("/perisai/docs")).text
        references = REFERENCE.findall(page)
        assert references and all(url.startswith("/perisai/") for url in references), references
        for url in references:
            assert (await client.get(url)).status_code == 200, url
