"""Maintenance windows: alerts are kept, but page no one, and are listed after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import Alert, AlertEvent, Incident, Integration, MaintenanceWindow
from incidents.services import integration_create, maintenance_window_create
from incidents.tasks import ingest_process_task, maintenance_windows_close_task
from tests.conftest import api_client
from tests.factories import ServiceFactory
from tests.incidents.ingest_helpers import post_json

URL = "/api/v1/maintenance-windows/"
ENQUEUE = "/v2/enqueue"
START = datetime(2026, 4, 1, 22, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


@pytest.fixture
def window(service, responder) -> MaintenanceWindow:
    return maintenance_window_create(
        service=service, starts_at=START, ends_at=END, reason="DB upgrade", by=responder
    )


@pytest.fixture
def pd(service) -> tuple[Integration, str]:
    return integration_create(name="Nagios", kind="pagerduty", service=service)


def send(
    pd: tuple[Integration, str],
    at: datetime,
    dedup_key: str,
    action: str = "trigger",
    summary: str = "Disk full on db01",
) -> None:
    body = {
        "routing_key": pd[1],
        "event_action": action,
        "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "db01", "severity": "critical"},
    }
    with time_machine.travel(at, tick=False):
        response = post_json(ENQUEUE, body)
        assert response.status_code == 202, response.content
        ingest_process_task(integration_id=pd[0].pk)


def test_plan_a_window_through_the_api(api, service):
    response = api.post(
        URL,
        {
            "service": "website",
            "starts_at": START.isoformat(),
            "ends_at": END.isoformat(),
            "reason": "DB upgrade",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["service"], body["created_by"]) == ("website", "responder")
    assert (body["closed_at"], body["summary"]) == (None, "")
    window = MaintenanceWindow.objects.get(pk=body["id"])
    assert (window.starts_at, window.ends_at) == (START, END)


@pytest.mark.parametrize("ends_at", [START - timedelta(minutes=1), START])
def test_a_window_that_ends_before_it_starts_is_400(api, service, ends_at):
    response = api.post(
        URL,
        {
            "service": "website",
            "starts_at": START.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": "DB upgrade",
        },
    )
    assert response.status_code == 400
    assert response.json()["field"] == "ends_at"
    assert not MaintenanceWindow.objects.exists()


def test_outsiders_cannot_plan_a_window_on_another_teams_service(service, outsider):
    response = api_client(outsider).post(
        URL,
        {"service": "website", "starts_at": START.isoformat(),
         "ends_at": END.isoformat(), "reason": "sabotage"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "service" in response.json()
    assert not MaintenanceWindow.objects.exists()


def test_an_alert_during_the_window_is_kept_but_opens_no_incident(window, pd):
    send(pd, START + timedelta(minutes=30), "disk-full")

    alert = Alert.objects.get()
    assert alert.maintenance_window == window
    assert alert.incident is None
    assert alert.status == "triggered"
    assert not Incident.objects.exists()
    event = AlertEvent.objects.get()
    assert event.processed_at is not None
    assert f"suppressed by maintenance window {window.pk}" in event.outcome


def test_repeats_during_the_window_are_deduplicated_and_still_quiet(window, pd):
    for minutes in (10, 20, 30):
        send(pd, START + timedelta(minutes=minutes), "disk-full")
    alert = Alert.objects.get()
    assert alert.event_count == 3
    assert not Incident.objects.exists()


def test_the_window_starts_inclusive_and_ends_exclusive(window, pd):
    send(pd, START, "at-start")
    send(pd, END, "at-end")
    assert Alert.objects.get(dedup_key="at-start").incident is None
    at_end = Alert.objects.get(dedup_key="at-end")
    assert at_end.maintenance_window is None
    assert at_end.incident == Incident.objects.get()


@pytest.mark.parametrize(
    "at", [START - timedelta(minutes=1), END + timedelta(minutes=1)]
)
def test_an_alert_outside_the_window_opens_an_incident(window, pd, at):
    send(pd, at, "disk-full")
    alert = Alert.objects.get()
    assert alert.maintenance_window is None
    assert alert.incident == Incident.objects.get()


def test_a_window_quiets_only_its_own_service(window, team):
    other = ServiceFactory(team=team, slug="api")
    send(integration_create(name="API checks", kind="pagerduty", service=other),
         START + timedelta(minutes=5), "api-down")  # fmt: skip
    assert Incident.objects.get().service == other


def test_closing_an_ended_window_names_the_alerts_still_firing(window, pd):
    send(pd, START + timedelta(minutes=5), "disk-full", summary="Disk full on db01")
    send(pd, START + timedelta(minutes=6), "replica-lag", summary="Replica lagging")
    send(pd, START + timedelta(minutes=40), "replica-lag", action="resolve")

    closed_at = END + timedelta(minutes=1)
    with time_machine.travel(closed_at, tick=False):
        assert maintenance_windows_close_task() == 1

    window.refresh_from_db()
    assert window.closed_at == closed_at
    assert window.summary.splitlines() == [
        "2 alerts during the window, 1 still firing.",
        "FIRING  disk-full: Disk full on db01",
        "resolved replica-lag: Replica lagging",
    ]


def test_closing_runs_once_per_window(window, pd):
    send(pd, START + timedelta(minutes=5), "disk-full")
    with time_machine.travel(END + timedelta(minutes=1), tick=False):
        maintenance_windows_close_task()
    window.refresh_from_db()
    before = (window.closed_at, window.summary)

    send(pd, END + timedelta(minutes=2), "disk-full", action="resolve")
    with time_machine.travel(END + timedelta(minutes=3), tick=False):
        assert maintenance_windows_close_task() == 0
    window.refresh_from_db()
    assert (window.closed_at, window.summary) == before


def test_a_window_still_running_is_not_closed(window):
    with time_machine.travel(END - timedelta(seconds=1), tick=False):
        assert maintenance_windows_close_task() == 0
    window.refresh_from_db()
    assert (window.closed_at, window.summary) == (None, "")


def test_a_window_lists_the_alerts_it_kept_quiet(api, window, pd):
    send(pd, START - timedelta(minutes=5), "before")
    send(pd, START + timedelta(minutes=5), "first")
    send(pd, START + timedelta(minutes=9), "second")

    response = api.get(f"{URL}{window.pk}/alerts/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [a["dedup_key"] for a in body["results"]] == ["first", "second"]
    assert {a["maintenance_window"] for a in body["results"]} == {window.pk}
    assert {a["incident"] for a in body["results"]} == {None}


def test_outsiders_see_nothing_of_a_window(window, outsider):
    client = api_client(outsider)
    assert client.get(URL).json()["count"] == 0
    assert client.get(f"{URL}{window.pk}/").status_code == 404
    assert client.get(f"{URL}{window.pk}/alerts/").status_code == 404


def test_members_see_the_window_in_the_list(api, window):
    body = api.get(URL).json()
    assert [w["id"] for w in body["results"]] == [window.pk]
    assert api.get(f"{URL}{window.pk}/").json()["reason"] == "DB upgrade"
