"""Headless Chromium for the browser tests, driven by Selenium and Debian's chromedriver.

The tests that use it skip where Chromium, chromedriver or Selenium are missing (``.ci/run``
installs them). Pytest puts this folder on ``sys.path``, so test files ``import _browser``.
"""

from __future__ import annotations

import shutil
import time

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
MISSING = None if (CHROMEDRIVER and CHROMIUM) else "needs chromium and chromedriver"


def start_chromium(width: int, height: int):
    """A headless Chromium window of ``width`` x ``height`` that keeps the console's log."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for(predicate, timeout: float, what: str):
    """``predicate()``'s first truthy value, polled until ``timeout`` seconds have passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
