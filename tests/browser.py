"""Debian's headless Chromium driven by Selenium, for the browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from tests.live import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
         "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run",
         "--window-size=1280,1000"]  # fmt: skip
SCREENSHOTS = ROOT / "var" / "screenshots"


@contextmanager
def chromium_driver(profile: Path) -> Iterator[WebDriver]:
    """Debian's Chromium and its driver; in CI their absence is a failure."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.exists()]
    if missing:
        reason = (
            f"{', '.join(missing)} missing: apt-get install chromium chromium-driver"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # The local driver only: Selenium Manager (which downloads drivers and
    # browsers) would fail here if anything started it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_MANAGER_PATH", str(ROOT / "no-selenium-manager"))
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: WebDriver, seconds: float = 60) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)
