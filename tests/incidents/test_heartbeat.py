"""Heartbeats: a job pings Vigil; silence past interval + grace opens an incident."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from incidents.models import Alert, AlertEvent, Incident, Integration
from incidents.services import heartbeat_ping, integration_create
from incidents.services.ingest import heartbeat_due
from incidents.tasks import ingest_heartbeat_check_task, ingest_process_task

URL = "/ingest/heartbeat/"
T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
# Interval 60 s + grace 30 s after the ping at T0.
DUE = T0 + timedelta(seconds=90)


@pytest.fixture
def beat(service) -> tuple[Integration, str]:
    with time_machine.travel(T0, tick=False):
        integration, key = integration_create(
            name="Nightly backup",
            kind="heartbeat",
            service=service,
            heartbeat_interval=timedelta(seconds=60),
            heartbeat_grace=timedelta(seconds=30),
        )
        heartbeat_ping(integration=integration)
    return integration, key


def check_at(moment: datetime, integration: Integration) -> int:
    """Run the beat sweep at `moment`, then the worker, as production would."""
    with time_machine.travel(moment, tick=False):
        opened = ingest_heartbeat_check_task()
        ingest_process_task(integration_id=integration.pk)
    return opened


def ping_at(moment: datetime, key: str, method: str = "get", form: str = "header"):
    client = Client()
    call = getattr(client, method)
    with time_machine.travel(moment, tick=False):
        if form == "header":
            return call(URL, headers={"Authorization": f"Bearer {key}"})
        return call(f"{URL}?token={key}")


def test_a_heartbeat_pinged_within_interval_and_grace_opens_nothing(beat):
    assert check_at(DUE - timedelta(seconds=1), beat[0]) == 0
    assert not Alert.objects.exists()
    assert not Incident.objects.exists()


def test_a_missed_heartbeat_opens_one_health_check_incident_naming_it(beat, service):
    assert check_at(DUE + timedelta(seconds=1), beat[0]) == 1

    alert = Alert.objects.get()
    incident = Incident.objects.get()
    assert alert.incident == incident
    assert (alert.source, alert.status) == ("heartbeat", "triggered")
    assert alert.integration == beat[0]
    assert incident.detection_source == "health_check"
    assert "Nightly backup" in incident.title
    assert incident.service == service
    assert incident.status == "triggered"


def test_running_the_check_again_opens_nothing_more(beat):
    check_at(DUE + timedelta(seconds=1), beat[0])
    for later in (timedelta(minutes=5), timedelta(hours=3)):
        assert check_at(DUE + later, beat[0]) == 0
    assert Alert.objects.count() == 1
    assert Incident.objects.count() == 1
    assert AlertEvent.objects.count() == 1


def test_a_heartbeat_that_never_pinged_is_late_counting_from_its_creation(service):
    with time_machine.travel(T0, tick=False):
        integration, _ = integration_create(
            name="Cron host",
            kind="heartbeat",
            service=service,
            heartbeat_interval=timedelta(seconds=60),
            heartbeat_grace=timedelta(seconds=30),
        )
    assert check_at(DUE - timedelta(seconds=1), integration) == 0
    assert check_at(DUE + timedelta(seconds=1), integration) == 1
    assert "Cron host" in Incident.objects.get().title


def test_a_disabled_heartbeat_is_never_reported_missing(beat):
    Integration.objects.filter(pk=beat[0].pk).update(enabled=False)
    assert check_at(DUE + timedelta(hours=1), beat[0]) == 0
    assert not Incident.objects.exists()


def test_a_ping_while_healthy_only_records_the_time(beat):
    response = ping_at(T0 + timedelta(seconds=50), beat[1])
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "Ping received"}
    beat[0].refresh_from_db()
    assert beat[0].last_ping_at == T0 + timedelta(seconds=50)
    assert not AlertEvent.objects.exists()
    # The ping moved the deadline: 90 s after T0 is no longer late.
    assert check_at(DUE + timedelta(seconds=1), beat[0]) == 0


@pytest.mark.parametrize(
    ("method", "form"),
    [("get", "header"), ("post", "header"), ("get", "query"), ("post", "query")],
)
def test_a_ping_after_a_miss_resolves_the_alert_and_the_incident(beat, method, form):
    check_at(DUE + timedelta(seconds=1), beat[0])
    back = DUE + timedelta(minutes=2)

    response = ping_at(back, beat[1], method, form)
    assert response.status_code == 200, response.content
    with time_machine.travel(back, tick=False):
        ingest_process_task(integration_id=beat[0].pk)

    alert = Alert.objects.get()
    assert (alert.status, alert.resolved_at) == ("resolved", back)
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.timeline.filter(kind="alert_resolved").count() == 1
    beat[0].refresh_from_db()
    assert (beat[0].last_ping_at, beat[0].heartbeat_missed_at) == (back, None)


def test_a_later_miss_opens_a_new_incident(beat):
    check_at(DUE + timedelta(seconds=1), beat[0])
    back = DUE + timedelta(minutes=2)
    ping_at(back, beat[1])
    with time_machine.travel(back, tick=False):
        ingest_process_task(integration_id=beat[0].pk)

    assert check_at(back + timedelta(seconds=89), beat[0]) == 0
    assert check_at(back + timedelta(seconds=91), beat[0]) == 1

    first, second = Incident.objects.order_by("detected_at")
    assert first.status == "resolved"
    assert second.status == "triggered"
    assert second.detection_source == "health_check"
    assert Alert.objects.filter(status="triggered").get().incident == second


def test_a_cron_heartbeat_is_due_at_the_next_cron_time_plus_grace(service):
    integration, key = integration_create(
        name="Exporter",
        kind="heartbeat",
        service=service,
        heartbeat_cron="*/5 * * * *",
        heartbeat_timezone="Europe/Paris",
        heartbeat_grace=timedelta(minutes=2),
    )
    ping_at(T0 + timedelta(minutes=2, seconds=30), key)
    integration.refresh_from_db()
    due = T0 + timedelta(minutes=7)  # the 08:05 run, plus two minutes of grace
    assert heartbeat_due(integration) == due
    assert check_at(due - timedelta(seconds=1), integration) == 0
    assert check_at(due + timedelta(seconds=1), integration) == 1


def test_a_daily_cron_heartbeat_runs_in_its_own_time_zone(service):
    integration, _ = integration_create(
        name="Daily report",
        kind="heartbeat",
        service=service,
        heartbeat_cron="0 9 * * *",
        heartbeat_timezone="Europe/Paris",
        heartbeat_grace=timedelta(minutes=10),
    )
    # 06:30 UTC is 08:30 in Paris (CEST): the next run is 09:00 Paris, 07:00 UTC.
    integration.last_ping_at = datetime(2026, 4, 1, 6, 30, tzinfo=UTC)
    assert heartbeat_due(integration) == datetime(2026, 4, 1, 7, 10, tzinfo=UTC)
    # Pinged just after the 09:00 Paris run: next one is tomorrow's.
    integration.last_ping_at = datetime(2026, 4, 1, 7, 1, tzinfo=UTC)
    assert heartbeat_due(integration) == datetime(2026, 4, 2, 7, 10, tzinfo=UTC)


def test_without_a_grace_a_heartbeat_gets_one_minute(service):
    integration, _ = integration_create(
        name="Worker",
        kind="heartbeat",
        service=service,
        heartbeat_interval=timedelta(minutes=5),
    )
    integration.last_ping_at = T0
    assert heartbeat_due(integration) == T0 + timedelta(minutes=6)


def test_a_grace_of_zero_means_no_grace(service):
    integration, _ = integration_create(
        name="Worker",
        kind="heartbeat",
        service=service,
        heartbeat_interval=timedelta(minutes=5),
        heartbeat_grace=timedelta(0),
    )
    integration.last_ping_at = T0
    assert heartbeat_due(integration) == T0 + timedelta(minutes=5)


def test_a_ping_with_another_kinds_key_is_400_and_stores_nothing(service):
    pagerduty, key = integration_create(
        name="Nagios", kind="pagerduty", service=service
    )
    response = ping_at(T0, key)
    assert response.status_code == 400
    assert response.json()["message"] == "Wrong endpoint for this integration"
    pagerduty.refresh_from_db()
    assert pagerduty.last_ping_at is None
    assert not AlertEvent.objects.exists()


def test_a_ping_with_an_unknown_key_is_404(beat, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    response = ping_at(T0 + timedelta(seconds=10), "0" * 32)
    assert response.status_code == 404
    assert response.json()["message"] == "Unknown integration key"
    beat[0].refresh_from_db()
    assert beat[0].last_ping_at == T0


def test_an_unknown_key_waits_the_configured_delay_before_its_404(beat, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0.05
    started = time.monotonic()
    response = Client().get(URL, {"token": "f" * 32})
    assert response.status_code == 404
    assert time.monotonic() - started >= 0.05


def test_a_ping_without_a_key_is_401(beat):
    for call in (Client().get, Client().post):
        response = call(URL)
        assert response.status_code == 401
        assert response.json()["message"] == "Missing integration key"
