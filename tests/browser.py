"""Headless Chromium for tests that look at pages as a person does: open a page, wait for a CSS
selector, click, type, take screenshots, read the console and the host of every request made.

    with chromium() as browser:  # skips the test when Chromium or chromedriver is absent
        browser.open(f"{base}/docs")
        browser.click("button.authorize")
        browser.screenshot("docs")  # .artifacts/screenshots/docs.png (gitignored)
        assert browser.request_hosts() == {"127.0.0.1"}

Chromium is Debian's `chromium` and `chromium-driver` (`apt-get install chromium
chromium-driver`; `.ci/run` installs them when it can), driven by Selenium through the driver at
/usr/bin/chromedriver: Selenium Manager is never run, so nothing is downloaded. Set CHROMIUM and
CHROMEDRIVER to use other binaries.
"""

import base64
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / ".artifacts" / "screenshots"
WINDOW = (1280, 900)
# No traffic the page did not ask for: no updates, sync, QUIC, first-run or metrics requests.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--lang=en-US",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)
NETWORK_SCHEMES = ("http", "https", "ws", "wss")
Target = str | WebElement


def binaries() -> tuple[str, str] | None:
    """The Chromium and chromedriver to use, or None when either is missing."""
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextmanager
def chromium(timeout: float = 15) -> Iterator["Browser"]:
    """A fresh headless Chromium (its own new profile), quit on exit; skips when absent."""
    found = binaries()
    if found is None:
        pytest.skip(
            "Chromium or chromedriver is not installed: `apt-get install chromium "
            "chromium-driver` (Debian) runs the browser tests"
        )
    browser_path, driver_path = found
    with tempfile.TemporaryDirectory(prefix="perisai-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser_path
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
        try:
            yield Browser(driver, timeout=timeout)
        finally:
            driver.quit()


class Browser:
    """One Chromium window; selectors are CSS. Console and requests accumulate from the start."""

    def __init__(self, driver: webdriver.Chrome, *, timeout: float) -> None:
        self.driver = driver
        self.timeout = timeout
        self._console: list[dict[str, Any]] = []
        self._requests: list[str] = []

    def open(self, url: str) -> None:
        self.driver.get(url)

    def wait_for(
        self, selector: str, *, within: WebElement | None = None, timeout: float | None = None
    ) -> WebElement:
        """The first visible element matching `selector` (inside `within`), once there is one."""

        def visible(driver: webdriver.Chrome) -> WebElement | None:
            found = self.find_all(selector, within)
            return next((element for element in found if element.is_displayed()), None)

        element: WebElement = self._until(visible, f"no visible {selector!r}", timeout)
        return element

    def wait_for_text(
        self,
        selector: str,
        text: str,
        *,
        within: WebElement | None = None,
        timeout: float | None = None,
    ) -> WebElement:
        """The first element matching `selector` (inside `within`) once it contains `text`."""

        def showing(driver: webdriver.Chrome) -> WebElement | None:
            found = self.find_all(selector, within)
            return next((element for element in found if text in element.text), None)

        element: WebElement = self._until(showing, f"{selector!r} never had {text!r}", timeout)
        return element

    def find_all(self, selector: str, within: WebElement | None = None) -> list[WebElement]:
        return (within or self.driver).find_elements(By.CSS_SELECTOR, selector)

    def click(self, target: Target) -> None:
        element = self._element(target)
        self.scroll_to(element)
        self._until(expected_conditions.element_to_be_clickable(element), "not clickable", None)
        element.click()

    def type(self, target: Target, text: str) -> None:
        element = self._element(target)
        element.clear()
        element.send_keys(text)

    def run(self, script: str, *args: Any) -> Any:
        """Run JavaScript in the page (`arguments[0]`... are `args`); answers what it returns."""
        return self.driver.execute_script(script, *args)

    def scroll_to(self, target: Target) -> None:
        self.run("arguments[0].scrollIntoView({block: 'center'})", self._element(target))

    def screenshot(self, name: str, *, full_page: bool = False) -> Path:
        """The window (or the whole page) as .artifacts/screenshots/<name>.png."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        if full_page:
            size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            shot = self.driver.execute_cdp_cmd(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True, "clip": clip},
            )
            path.write_bytes(base64.b64decode(shot["data"]))
        else:
            self.driver.save_screenshot(str(path))
        return path

    def console(self) -> list[dict[str, Any]]:
        """Every console message and page error so far: `level` (SEVERE, WARNING, INFO) and
        `message`."""
        self._console.extend(self.driver.get_log("browser"))
        return list(self._console)

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.console() if entry["level"] == "SEVERE"]

    def requests(self) -> list[str]:
        """The URL of every request the page made to the network so far, in order, websockets
        included (data:, blob: and the browser's own chrome: pages reach no network)."""
        for entry in self.driver.get_log("performance"):
            event = json.loads(entry["message"])["message"]
            if event["method"] == "Network.requestWillBeSent":
                url = event["params"]["request"]["url"]
            elif event["method"] == "Network.webSocketCreated":
                url = event["params"]["url"]
            else:
                continue
            if urlsplit(url).scheme in NETWORK_SCHEMES:
                self._requests.append(url)
        return list(self._requests)

    def request_hosts(self) -> set[str]:
        """The hosts the page's requests went to (or were stopped on their way to)."""
        return {urlsplit(url).hostname or "" for url in self.requests()}

    def _element(self, target: Target) -> WebElement:
        return self.wait_for(target) if isinstance(target, str) else target

    def _until(self, condition: Callable[[Any], Any], failure: str, timeout: float | None) -> Any:
        """What `condition` answers once it is truthy; on time-out, an AssertionError that says
        what the page logged and where it sent requests (a blank page usually tells there)."""
        try:
            wait = WebDriverWait(self.driver, self.timeout if timeout is None else timeout)
            return wait.until(condition)
        except TimeoutException:
            raise AssertionError(
                f"{failure} at {self.driver.current_url}; console errors: "
                f"{self.console_errors()}; requests went to {sorted(self.request_hosts())}"
            ) from None
