"""The public page in a real headless Chromium, at desktop and phone sizes.

It must read without JavaScript, fit a phone's width without sideways
scrolling, and show its state, incident and bars; each size is saved as a
screenshot under var/screenshots/ to look at.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from incidents.services import maintenance_window_create
from notifications.models import StatusPage
from tests.factories import ServiceFactory
from tests.firstrun.test_admin_in_chromium import (  # noqa: F401 - fixture
    SCREENSHOTS,
    chromium,
)

SIZES = {"desktop": (1280, 1000), "phone": (390, 844)}


@pytest.fixture
def busy_page(outage, team, responder):
    StatusPage.objects.create(
        name="Acme Status", accent_color="#7c3aed", header_color="#1e1b4b",
        footer_links="Support https://acme.example/help",
    )  # fmt: skip
    for name in ("Web", "Mobile apps", "Webhooks"):
        ServiceFactory(name=name, slug=name.lower().replace(" ", "-"), team=team,
                       is_public=True)  # fmt: skip
    web = ServiceFactory(name="Search", slug="search", team=team, is_public=True)
    now = timezone.now()
    maintenance_window_create(
        service=web, starts_at=now + timedelta(hours=3),
        ends_at=now + timedelta(hours=4), reason="Search index rebuild", by=responder,
    )  # fmt: skip
    return outage


# Serialized like the other transactional tests: its flush then leaves the
# content types for them to restore.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_page_reads_at_desktop_and_phone_sizes(
    chromium,  # noqa: F811 - the fixture imported above
    live_server,
    busy_page,
):
    chromium.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        for size, (width, height) in SIZES.items():
            chromium.set_window_size(width, height)
            chromium.get(f"{live_server.url}/status/")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            chromium.save_screenshot(str(SCREENSHOTS / f"status-page-{size}.png"))
            page_reads(chromium, width)
    finally:
        chromium.execute_cdp_cmd(
            "Emulation.setScriptExecutionDisabled", {"value": False}
        )


def page_reads(driver, width: int) -> None:
    banner = driver.find_element(By.CSS_SELECTOR, ".banner")
    assert banner.text == "Partial System Outage"
    assert banner.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    assert "Elevated API errors" in driver.page_source
    assert "Search index rebuild" in driver.page_source
    bars = driver.find_elements(By.CSS_SELECTOR, ".bars i")
    assert sum(bar.is_displayed() for bar in bars) >= 5 * 30
    scroll_width = driver.execute_cdp_cmd(
        "Runtime.evaluate",
        {"expression": "document.documentElement.scrollWidth", "returnByValue": True},
    )["result"]["value"]
    assert scroll_width <= width
