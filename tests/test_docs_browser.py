"""/docs and /redoc in headless Chromium against the real server, as a partner on a network
without internet sees them: every tag renders, Swagger UI calls the API with a key, and no
request leaves 127.0.0.1. Screenshots go to .artifacts/screenshots/."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.browser import Browser, chromium
from tests.conftest import ADMIN_KEY
from tests.live_server import real_server

ROLES_PATH = "/v1/roles"
LOOKUP_PATH = "/v1/coverage/{nik}"
LOOKUP_NIK = "1209185705900001"


@pytest.fixture(scope="module")
def base_url(database_url: str) -> Iterator[str]:
    with real_server(database_url, ADMIN_KEY) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Named first by the tests, so that without Chromium they skip before a server starts."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def tags(base_url: str) -> list[str]:
    """The tags the operations of the served document use, in the order the docs list them."""
    spec = httpx.get(f"{base_url}/openapi.json").json()
    used = {
        tag for methods in spec["paths"].values() for op in methods.values() for tag in op["tags"]
    }
    return [tag["name"] for tag in spec["tags"] if tag["name"] in used]


def assert_stayed_local(browser: Browser) -> None:
    elsewhere = [url for url in browser.requests() if urlsplit(url).hostname != "127.0.0.1"]
    assert browser.request_hosts() == {"127.0.0.1"}, elsewhere
    assert browser.console_errors() == []


def test_swagger_ui_renders_every_tag_and_tries_a_call_with_a_key(
    browser: Browser, base_url: str, tags: list[str]
) -> None:
    browser.open(f"{base_url}/docs")
    browser.wait_for(".opblock-tag")
    browser.screenshot("swagger-ui")
    shown = [tag.get_attribute("data-tag") for tag in browser.find_all(".opblock-tag")]
    assert shown == tags

    browser.click(".auth-wrapper button.authorize")
    browser.type("#auth-bearer-value", ADMIN_KEY)
    browser.click(".modal-ux button.authorize")
    browser.click(".modal-ux button.btn-done")

    summary = browser.wait_for(f'.opblock-get .opblock-summary-path[data-path="{ROLES_PATH}"]')
    operation = browser.run("return arguments[0].closest('.opblock')", summary)
    browser.click(summary)
    browser.click(browser.wait_for(".try-out__btn", within=operation))
    browser.click(browser.wait_for("button.execute", within=operation))
    status = browser.wait_for_text(
        ".live-responses-table .response-col_status", "200", within=operation
    )
    browser.scroll_to(status)
    browser.screenshot("swagger-ui-get-roles")

    # The coverage lookup, answered past the router (app.core.express), from the docs too.
    summary = browser.wait_for(f'.opblock-get .opblock-summary-path[data-path="{LOOKUP_PATH}"]')
    operation = browser.run("return arguments[0].closest('.opblock')", summary)
    browser.click(summary)
    browser.click(browser.wait_for(".try-out__btn", within=operation))
    browser.type(browser.wait_for('input[placeholder="nik"]', within=operation), LOOKUP_NIK)
    browser.click(browser.wait_for("button.execute", within=operation))
    status = browser.wait_for_text(
        ".live-responses-table .response-col_status", "200", within=operation
    )
    body = browser.wait_for(
        ".live-responses-table .response-col_description .microlight", within=operation
    )
    assert f'"nik": "{LOOKUP_NIK}"' in body.text
    browser.scroll_to(status)
    browser.screenshot("swagger-ui-get-coverage")
    assert_stayed_local(browser)


def test_redoc_renders_every_tag_and_the_glossary(
    browser: Browser, base_url: str, tags: list[str]
) -> None:
    browser.open(f"{base_url}/redoc")
    browser.wait_for('[data-item-id="section/Glossary"]')
    browser.screenshot("redoc")
    items = browser.find_all("li[data-item-id^='tag/']")  # tags, and their operations
    menu = [str(item.get_attribute("data-item-id")) for item in items]
    assert [item for item in menu if item.count("/") == 1] == [f"tag/{tag}" for tag in tags]

    browser.click('[data-item-id="tag/rosters"]')
    browser.wait_for('[id="tag/rosters"]')
    browser.screenshot("redoc-rosters")
    assert_stayed_local(browser)
