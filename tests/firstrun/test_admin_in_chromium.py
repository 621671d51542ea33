"""The admin in a real browser (headless Chromium) against `make run`.

Declaring an incident needs the service picker's JavaScript, adding an
escalation level needs the inline's "Add another", and bulk actions need
the changelist's: each test does what a responder does, and saves a
screenshot under var/screenshots/ to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.select import Select

from tests.browser import SCREENSHOTS, chromium_driver, wait
from tests.config.test_runstack import embedded_only
from tests.live import FirstRun

# The stack as `make run` starts it, on the embedded default: CI runs these
# in its embedded pass only.
pytestmark = embedded_only


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium_driver(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


@pytest.fixture
def browser(
    chromium: WebDriver, stack: FirstRun, request: pytest.FixtureRequest
) -> Iterator[WebDriver]:
    """The browser, logged in to the admin; a screenshot of its last page
    is saved after the test, passed or failed."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium.delete_all_cookies()
    chromium.get(f"{stack.url}/admin/login/")
    chromium.find_element(By.ID, "id_username").send_keys(stack.username)
    chromium.find_element(By.ID, "id_password").send_keys(stack.password)
    chromium.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(chromium).until(seen.presence_of_element_located((By.ID, "user-tools")))
    try:
        yield chromium
    finally:
        chromium.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))


def styled(driver: WebDriver) -> None:
    """Fail unless the admin's style sheet applies: its header is coloured."""
    header = driver.find_element(By.ID, "header")
    assert header.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    assert driver.execute_script("return typeof django !== 'undefined'"), "no admin JS"


def success(driver: WebDriver) -> str:
    message = wait(driver).until(
        seen.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li"))
    )
    assert "success" in (message.get_attribute("class") or ""), message.text
    return message.text


def pick_in_autocomplete(driver: WebDriver, field: str, text: str) -> None:
    """Choose `text` in an autocomplete (select2) field, as a person does."""
    box = driver.find_element(
        By.CSS_SELECTOR, f"#id_{field} + .select2 .select2-selection"
    )
    box.click()
    search = wait(driver).until(
        seen.visibility_of_element_located((By.CSS_SELECTOR, ".select2-search__field"))
    )
    search.send_keys(text)
    option = wait(driver).until(
        seen.element_to_be_clickable(
            (By.XPATH, f"//li[contains(@class,'select2-results__option') "
                       f"and normalize-space()='{text}']")
        )
    )  # fmt: skip
    option.click()


def shortcut(driver: WebDriver, field: str, label: str) -> None:
    """Click a date/time field's shortcut ("Today", "Now"), added by JS."""
    link: WebElement = driver.find_element(
        By.XPATH,
        f"//input[@id='id_{field}']/following-sibling::span"
        f"[contains(@class,'datetimeshortcuts')]/a[normalize-space()='{label}']",
    )
    link.click()


def test_a_responder_declares_an_incident_choosing_the_service(
    browser: WebDriver, stack: FirstRun, api: httpx.Client
):
    browser.get(f"{stack.url}/admin/incidents/incident/add/")
    styled(browser)
    browser.find_element(By.ID, "id_title").send_keys("Checkout answers 502")
    Select(browser.find_element(By.ID, "id_severity")).select_by_visible_text("P1 High")
    pick_in_autocomplete(browser, "service", "Website")
    for field in ("started_at", "detected_at"):
        shortcut(browser, f"{field}_0", "Today")
        shortcut(browser, f"{field}_1", "Now")
    browser.save_screenshot(str(SCREENSHOTS / "declare-form.png"))
    browser.find_element(By.NAME, "_save").click()
    assert "was added successfully" in success(browser)
    styled(browser)
    found = api.get("/api/v1/incidents/", params={"search": "Checkout answers 502"})
    (incident,) = found.json()["results"]
    assert incident["service"] == "website"
    assert incident["status"] == "triggered"


def test_an_escalation_level_is_added_with_add_another(
    browser: WebDriver, stack: FirstRun, api: httpx.Client
):
    (policy,) = api.get("/api/v1/escalation-policies/").json()["results"]
    levels = len(policy["levels"])
    browser.get(f"{stack.url}/admin/escalation/escalationpolicy/{policy['id']}/change/")
    styled(browser)
    total = browser.find_element(By.CSS_SELECTOR, "input[name$='-TOTAL_FORMS']")
    prefix = (total.get_attribute("name") or "").removesuffix("-TOTAL_FORMS")
    before = int(total.get_attribute("value") or 0)
    browser.find_element(By.CSS_SELECTOR, f"#{prefix}-group .add-row a").click()
    assert int(total.get_attribute("value") or 0) == before + 1
    added = f"id_{prefix}-{before}"  # the form the click added, after the extra one
    position = browser.find_element(By.ID, f"{added}-position")
    browser.execute_script("arguments[0].scrollIntoView()", position)
    position.send_keys(str(levels + 1))
    browser.find_element(By.ID, f"{added}-name").send_keys("Director")
    Select(browser.find_element(By.ID, f"{added}-users")).select_by_visible_text(
        stack.username
    )
    browser.save_screenshot(str(SCREENSHOTS / "escalation-level-added.png"))
    browser.find_element(By.NAME, "_continue").click()
    assert "was changed successfully" in success(browser)
    styled(browser)
    stored = api.get(f"/api/v1/escalation-policies/{policy['id']}/").json()
    assert len(stored["levels"]) == levels + 1
    assert stored["levels"][-1]["name"] == "Director"


def test_a_bulk_action_acknowledges_the_chosen_incident(
    browser: WebDriver, stack: FirstRun, api: httpx.Client
):
    declared = api.post(
        "/api/v1/incidents/",
        json={"title": "Search is slow", "severity": "P2", "service": "website"},
    )
    assert declared.status_code == 201, declared.text
    public_id = declared.json()["public_id"]
    browser.get(f"{stack.url}/admin/incidents/incident/?q={public_id}")
    styled(browser)
    browser.find_element(By.ID, "action-toggle").click()  # select all: JS
    counter = browser.find_element(By.CSS_SELECTOR, ".action-counter")
    assert counter.text == "1 of 1 selected"
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Acknowledge selected incidents"
    )
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    assert success(browser) == f"Acknowledged: {public_id}"
    styled(browser)
    incident = api.get(f"/api/v1/incidents/{public_id}/").json()
    assert incident["status"] == "acknowledged"


def test_the_api_docs_render_the_schema(browser: WebDriver, stack: FirstRun):
    browser.get(f"{stack.url}/api/docs/")
    title = wait(browser).until(
        seen.visibility_of_element_located(
            (By.CSS_SELECTOR, ".swagger-ui .info .title")
        )
    )
    assert title.text.startswith("Vigil API")
    # Swagger UI renders the operations as the page scrolls to them.
    incidents = wait(browser).until(lambda b: operation_seen(b, "/api/v1/incidents/"))
    assert incidents.is_displayed()


def operation_seen(browser: WebDriver, path: str) -> WebElement | None:
    """Return the operation `path` once rendered, else scroll on and None."""
    for operation in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"):
        if operation.text == path:
            browser.execute_script("arguments[0].scrollIntoView()", operation)
            return operation
    browser.execute_script("window.scrollBy(0, window.innerHeight)")
    return None


def test_the_metrics_dashboard_draws_its_charts(
    browser: WebDriver, stack: FirstRun, api: httpx.Client
):
    now = datetime.now(UTC)
    for months_ago, severity, drill in (
        (2, "P2", False),
        (1, "P2", False),
        (1, "P1", False),
        (0, "P2", False),
        (1, "P3", True),
    ):
        detected = now - timedelta(days=30 * months_ago, hours=3)
        declared = api.post("/api/v1/incidents/", json={
            "title": f"{'Drill' if drill else 'Real'} {months_ago} {severity}",
            "severity": severity,
            "service": "website", "detected_at": detected.isoformat(),
            "is_drill": drill,
        })  # fmt: skip
        declared.raise_for_status()
        api.post(
            f"/api/v1/incidents/{declared.json()['public_id']}/acknowledge/"
        ).raise_for_status()

    browser.get(f"{stack.url}/admin/metrics/")

    header = browser.find_element(By.ID, "header")  # the admin's style applies
    assert header.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.metrics-chart")
    assert len(charts) == 2
    assert all(chart.size["width"] > 300 for chart in charts)
    assert charts[0].find_elements(By.TAG_NAME, "polyline"), "no trend line"
    assert "Real 1 P1" in browser.find_element(By.ID, "breaches").text
    assert "Drill" not in browser.find_element(By.ID, "breaches").text
    browser.find_element(By.LINK_TEXT, "Drill metrics").click()
    wait(browser).until(seen.title_contains("Drill metrics"))
    assert "Drill 1 P3" in browser.find_element(By.ID, "breaches").text
    assert "Real" not in browser.find_element(By.ID, "breaches").text
    browser.get(f"{stack.url}/admin/metrics/")  # the screenshot: production
