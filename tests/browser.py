"""Headless Chromium from the OS packages (``apt-get install chromium chromium-driver``),
driven by Selenium, for the tests that look at pages the way a person does.
The browser has no internet (a dead proxy for everything but loopback and files).

``chromium()`` is a context manager yielding a WebDriver; tests skip with the
reason when the browser, its driver or selenium is missing, and fail under CI
(``CI=true``: .ci/run installs them). No browser or driver is ever downloaded
(Selenium Manager is not asked: both paths are given).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conftest import missing

CHROMIUM = os.environ.get("SAFETYNET_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SAFETYNET_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
    "--lang=en-US",
    # No internet: every non-loopback request goes to a closed port, so a page
    # shows what a person without internet access sees (and no test waits on it),
    # and no host name resolves (a request that bypassed the proxy fails too).
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
)
INSTALL = "apt-get install -y chromium chromium-driver"


def skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (install the OS packages: {INSTALL})"
    if not Path(CHROMEDRIVER).exists():
        return f"no chromedriver at {CHROMEDRIVER} (install the OS packages: {INSTALL})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed in the venv (requirements.lock)"
    return None


def require_chromium() -> None:
    """Skip the calling test (or module) when the browser cannot run here; fail under CI."""
    if reason := skip_reason():
        missing(reason)


@contextlib.contextmanager
def chromium(screenshots: Path | None = None) -> Iterator[Any]:
    """A fresh headless Chromium (own profile folder, removed afterwards)."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager: never download
    profile = tempfile.mkdtemp(prefix="safetynet-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # Every request the page makes, for requested_urls().
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    except BaseException:
        if screenshots is not None:
            with contextlib.suppress(Exception):
                screenshots.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(screenshots / "failure.png"))
                (screenshots / "failure.html").write_text(driver.page_source, encoding="utf-8")
        raise
    finally:
        with contextlib.suppress(Exception):
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(
    condition: Callable[[], Any],
    timeout: float = 30,
    what: str = "condition",
    interval: float = 0.25,
) -> Any:
    """Poll ``condition`` until it returns something truthy; its last error is reported."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if value := condition():
                return value
        except Exception as error:
            last_error = error
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what}"
        + (f" (last error: {last_error})" if last_error else "")
    )


def body_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def requested_urls(driver: Any) -> list[str]:
    """URLs the browser requested since the last call (the performance log's
    Network.requestWillBeSent events): file://, data: and outside ones alike."""
    import json

    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def is_local(url: str) -> bool:
    """A URL that stays on this machine: a file, inline data, loopback."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about", "chrome"):
        return True
    return parts.hostname in ("localhost", "127.0.0.1", "::1")
