"""The responders' console in a real browser (headless Chromium) against the
stack as `make run` starts it: web, worker and beat, the embedded default.

A worker's commit reaches the open war room and the board without reload;
every action is a click, and a refused one shows the service's words; a
responder of another team sees none of the demo team's. Screenshots of each
page at desktop and phone sizes go to var/screenshots/console/.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.browser import SCREENSHOTS, chromium_driver, wait
from tests.config.test_runstack import embedded_only
from tests.console.conftest import Console
from tests.live import wait_until

# The stack as `make run` starts it, on the embedded default: CI runs these
# in its embedded pass only.
pytestmark = embedded_only

SHOTS = SCREENSHOTS / "console"
DESKTOP, PHONE = (1440, 900), (390, 844)
LIVE_WITHIN = 1.0  # seconds from a worker's commit to the page


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    with chromium_driver(tmp_path_factory.mktemp("chromium")) as driver:
        driver.set_window_size(*DESKTOP)
        yield driver


def sign_in(driver: WebDriver, console: Console, username: str, password: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{console.url}/admin/login/")
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(driver).until(seen.presence_of_element_located((By.ID, "user-tools")))


@pytest.fixture
def browser(chromium: WebDriver, console: Console) -> WebDriver:
    """The browser at desktop size, signed in as the demo admin."""
    chromium.set_window_size(*DESKTOP)
    sign_in(chromium, console, console.run.username, console.run.password)
    return chromium


def enqueue(console: Console, dedup_key: str, action: str, summary: str) -> None:
    """Send a PagerDuty Events v2 event, as monitoring does."""
    answer = httpx.post(
        f"{console.url}/v2/enqueue",
        json={
            "routing_key": console.run.integration_key,
            "event_action": action,
            "dedup_key": dedup_key,
            "payload": {
                "summary": summary,
                "source": "db-1",
                "severity": "error",
                "custom_details": {"disk": "/var 97% full"},
            },
            "links": [
                {"href": "https://grafana.example.com/d/db", "text": "Dashboard"}
            ],
        },
        timeout=10,
    )
    assert answer.status_code == 202, answer.text


def incident_titled(api: httpx.Client, title: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        results = api.get("/api/v1/incidents/", params={"search": title}).json()
        return results["results"][0] if results["results"] else None

    return wait_until(found, f"the incident {title!r}", every=0.05)


def open_live(driver: WebDriver, url: str) -> None:
    """Open a console page and wait until its websocket is connected."""
    driver.get(url)
    wait(driver).until(
        seen.presence_of_element_located(
            (By.CSS_SELECTOR, "#live-state[data-state=live]")
        )
    )


def open_war_room(driver: WebDriver, console: Console, public_id: str) -> None:
    driver.get(f"{console.url}/admin/incidents/incident/?q={public_id}")
    url = driver.find_element(By.CSS_SELECTOR, "a.incident-id").get_attribute("href")
    open_live(driver, str(url))


def seen_at(driver: WebDriver, selector: str) -> tuple[WebElement, float]:
    """Wait for `selector` to show, checking every 20 ms; return it and when."""
    element = WebDriverWait(driver, 30, poll_frequency=0.02).until(
        seen.visibility_of_element_located((By.CSS_SELECTOR, selector))
    )
    return element, time.time()


def text_of(driver: WebDriver, selector: str) -> str:
    """The text of an element of a live part, read at once (it is redrawn)."""
    return str(
        driver.execute_script(
            "return document.querySelector(arguments[0]).innerText", selector
        )
    )


def committed_at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def act(driver: WebDriver, form: str, button: str = "button[type=submit]") -> str:
    """Click a button of a war-room form; return the message that answers."""
    driver.execute_script("document.documentElement.dataset.left = 'no'")

    # A live part is redrawn when an event arrives: if the button found is
    # replaced before the click lands, click the one shown now.
    def clicked(d: WebDriver) -> bool:
        d.find_element(By.CSS_SELECTOR, f"{form} {button}").click()
        return True

    redrawn = [StaleElementReferenceException]
    WebDriverWait(driver, 10, ignored_exceptions=redrawn).until(clicked)
    wait(driver).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete'"
            " && !document.documentElement.dataset.left"
        )
    )
    message = wait(driver).until(
        seen.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li"))
    )
    return f"{message.get_attribute('class')}: {message.text}"


def click_status(driver: WebDriver, status: str) -> str:
    return act(driver, "form.act", f"button[data-to={status}]")


def shoot(driver: WebDriver, name: str) -> None:
    """Screenshots of the page at desktop and phone sizes."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        driver.set_window_size(*size)
        driver.save_screenshot(str(SHOTS / f"{name}-{label}.png"))
    driver.set_window_size(*DESKTOP)


def test_an_alert_a_worker_commits_appears_on_the_open_war_room_within_a_second(
    browser: WebDriver, console: Console, api: httpx.Client
):
    key = f"disk-{uuid.uuid4().hex[:8]}"
    enqueue(console, key, "trigger", "Disk almost full on db-1")
    incident = incident_titled(api, "Disk almost full on db-1")
    open_war_room(browser, console, incident["public_id"])
    assert "/var 97% full" in browser.find_element(By.ID, "timeline").text

    # Someone else acknowledges it: the buttons follow the new status.
    browser.find_element(By.CSS_SELECTOR, "#war-room-actions [data-verb=acknowledge]")
    public_id = incident["public_id"]
    assert api.post(f"/api/v1/incidents/{public_id}/acknowledge/").status_code == 200
    seen_at(browser, "#war-room-actions button[data-to=triggered]")  # un-acknowledge
    assert not browser.find_elements(
        By.CSS_SELECTOR, "#war-room-actions [data-verb=acknowledge]"
    )
    before = len(browser.find_elements(By.CSS_SELECTOR, "#timeline li.entry"))

    enqueue(console, key, "resolve", "Disk almost full on db-1")
    entry, shown = seen_at(browser, "#timeline li.kind-alert_resolved")

    # The worker stamps the event processed in the transaction it commits.
    received = api.get("/api/v1/alert-events/", params={"page_size": 200}).json()
    (resolve,) = [
        e
        for e in received["results"]
        if e["dedup_key"] == key and e["action"] == "resolve"
    ]
    assert shown - committed_at(resolve["processed_at"]) < LIVE_WITHIN
    ids = [
        int(li.get_attribute("data-id") or 0)
        for li in browser.find_elements(By.CSS_SELECTOR, "#timeline li.entry")
    ]
    assert len(ids) > before
    assert ids == sorted(ids)
    assert "Alert resolved" in entry.text


def test_a_new_incident_appears_on_the_open_board_within_a_second(
    browser: WebDriver, console: Console, api: httpx.Client
):
    open_live(browser, f"{console.url}/admin/incidents/incident/board/")
    title = f"Checkout errors {uuid.uuid4().hex[:6]}"
    enqueue(console, f"checkout-{uuid.uuid4().hex[:8]}", "trigger", title)
    row = f"#board-rows tr[data-title='{title}']"
    _, shown = seen_at(browser, row)
    incident = incident_titled(api, title)
    assert shown - committed_at(incident["created_at"]) < LIVE_WITHIN
    assert incident["public_id"] in text_of(browser, row)
    shoot(browser, "board")

    # One click on the row acknowledges it, and the board says so.
    act(browser, f"{row} form.act")
    assert "Acknowledged" in text_of(browser, row)
    assert (
        api.get(f"/api/v1/incidents/{incident['public_id']}/").json()["status"]
        == "acknowledged"
    )


def test_every_war_room_action_is_a_click_and_refusals_show_the_service_error(
    browser: WebDriver, console: Console, api: httpx.Client
):
    declared = api.post(
        "/api/v1/incidents/",
        json={"title": "Login page times out", "severity": "P1", "service": "website"},
    )
    assert declared.status_code == 201, declared.text
    public_id = declared.json()["public_id"]
    open_war_room(browser, console, public_id)

    assert "success" in act(browser, "form.act", "button[data-verb=acknowledge]")
    assert "success" in click_status(browser, "triggered")  # un-acknowledge
    assert "success" in act(browser, "form.act", "button[data-verb=acknowledge]")
    assert "success" in click_status(browser, "investigating")

    Select(
        browser.find_element(By.CSS_SELECTOR, "#severity-form select")
    ).select_by_value("P0")
    browser.find_element(
        By.CSS_SELECTOR, "#severity-form input[name=reason]"
    ).send_keys("every region")
    assert "Severity is now P0" in act(browser, "#severity-form")

    Select(
        browser.find_element(By.CSS_SELECTOR, "#role-form select[name=role]")
    ).select_by_value("scribe")
    Select(
        browser.find_element(By.CSS_SELECTOR, "#role-form select[name=user]")
    ).select_by_visible_text("Dana Reyes")
    assert "Dana Reyes is Scribe" in act(browser, "#role-form")
    assert "success" in act(browser, "#role-form")  # "me" as incident commander

    Select(browser.find_element(By.CSS_SELECTOR, "#note-form select")).select_by_value(
        "hypothesis"
    )
    browser.find_element(By.CSS_SELECTOR, "#note-form textarea").send_keys(
        "the session store is full"
    )
    assert "success" in act(browser, "#note-form")
    assert "Root cause hypothesis" in browser.find_element(By.ID, "timeline").text

    # Paging goes through the escalation's services; whatever they answer shows.
    assert ": " in act(browser, "form.act", "button[data-verb=escalate]")
    assert ": " in act(browser, "#responder-form")

    # Resolving a P0 with open verification items is refused, in the
    # service's words, until the IC overrides with a reason.
    refused = click_status(browser, "resolved")
    assert refused.startswith("error"), refused
    assert "verification" in refused.lower()
    shoot(browser, "war-room")
    browser.find_element(By.CSS_SELECTOR, "form.act input[name=reason]").send_keys(
        "checked by hand on the status page"
    )
    browser.find_element(By.CSS_SELECTOR, "form.act input[name=override]").click()
    assert "success" in click_status(browser, "resolved")
    assert text_of(browser, "#incident-status") == "Resolved"
    assert api.get(f"/api/v1/incidents/{public_id}/").json()["roles"]


def test_a_false_positive_is_cancelled_with_its_reason(
    browser: WebDriver, console: Console, api: httpx.Client
):
    declared = api.post(
        "/api/v1/incidents/",
        json={"title": "Probe flapped", "severity": "P3", "service": "website"},
    )
    public_id = declared.json()["public_id"]
    open_war_room(browser, console, public_id)
    refused = act(browser, "#cancel-form")  # no reason given
    assert refused.startswith("error")
    assert "needs a reason" in refused
    browser.find_element(By.CSS_SELECTOR, "#cancel-form input[name=reason]").send_keys(
        "the probe's own network"
    )
    assert "false positive" in act(browser, "#cancel-form")
    assert api.get(f"/api/v1/incidents/{public_id}/").json()["status"] == "cancelled"

    # The admin's dark theme applies to the console too.
    browser.execute_script("localStorage.setItem('theme', 'dark')")
    open_live(browser, browser.current_url)
    background = browser.find_element(By.ID, "timeline").value_of_css_property("color")
    assert background.startswith("rgba(2") or background.startswith("rgb(2"), background
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "war-room-dark-desktop.png"))
    browser.execute_script("localStorage.removeItem('theme')")


def test_who_is_on_call_shows_now_next_and_the_week_with_overrides(
    browser: WebDriver, console: Console
):
    browser.get(f"{console.url}/admin/escalation/schedule/oncall/")
    card = browser.find_element(By.CSS_SELECTOR, "[data-schedule='Platform primary']")
    assert "Europe/Paris" in card.text
    assert "then" in card.text
    assert card.find_elements(By.CSS_SELECTOR, "tr.override-shift")
    ical = card.find_element(By.CSS_SELECTOR, "input.ical-url").get_attribute("value")
    assert str(ical).startswith(f"{console.url}/")
    assert httpx.get(str(ical), timeout=10).text.startswith("BEGIN:VCALENDAR")
    shoot(browser, "oncall")


def test_a_responder_of_another_team_sees_nothing_of_the_demo_team(
    browser: WebDriver, console: Console, api: httpx.Client
):
    ours = api.post(
        "/api/v1/incidents/",
        json={"title": "Website search down", "severity": "P2", "service": "website"},
    ).json()["public_id"]
    open_war_room(browser, console, ours)
    war_room = browser.current_url
    chromium = browser
    sign_in(chromium, console, "pat", "console-pw-1")

    open_live(chromium, f"{console.url}/admin/incidents/incident/board/?scope=all")
    board = chromium.find_element(By.ID, "board-rows").text
    assert console.theirs_id in board
    assert ours not in board
    assert "Website" not in board

    chromium.get(f"{console.url}/admin/escalation/schedule/oncall/")
    page = chromium.find_element(By.ID, "oncall").text
    assert "Payments primary" in page
    assert "Platform primary" not in page

    chromium.get(f"{console.url}/admin/incidents/incident/?q={ours}")
    assert ours not in chromium.find_element(By.ID, "content").text
    open_war_room(chromium, console, console.theirs_id)
    assert "Card payments declined" in chromium.find_element(By.ID, "war-room").text
    chromium.get(war_room)
    assert "Not Found" in chromium.find_element(By.TAG_NAME, "h1").text
    assert ours not in chromium.page_source
