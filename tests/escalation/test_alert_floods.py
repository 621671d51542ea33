"""Flood protection: past N incidents a minute from one integration, the rest
are attached to one "alert flood" incident, paged once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import Alert, AlertFlood, Incident
from incidents.services import integration_create
from incidents.tasks import ingest_process_task
from incidents.timeline_kinds import ALERT_ATTACHED, SEVERITY_CHANGED
from notifications.models import Delivery
from tests.incidents.ingest_helpers import fixture, post_json

LIMIT = 5
T0 = datetime(2026, 11, 23, 9, 0, 5, tzinfo=UTC)
FLOOD_TITLE = "Alert flood from Nagios"


@pytest.fixture(autouse=True)
def _small_flood_limit(settings):
    settings.VIGIL_FLOOD_INCIDENTS_PER_MINUTE = LIMIT
    settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = 0  # the quota is another test's


@pytest.fixture
def pd(sop_policy, service):
    return integration_create(name="Nagios", kind="pagerduty", service=service)


def fire(pd, keys, at: datetime, action: str = "trigger", severity: str = "") -> None:
    """Send one event per key at `at`, then have the worker apply them."""
    with time_machine.travel(at, tick=False):
        for key in keys:
            body = fixture("pagerduty-trigger.json") | {
                "routing_key": pd[1],
                "dedup_key": key,
                "event_action": action,
            }
            if severity:
                body["payload"]["severity"] = severity
            assert post_json("/v2/enqueue", body).status_code == 202
        ingest_process_task(integration_id=pd[0].pk)


def incidents_paged() -> list[str]:
    """Titles of the incidents the on-call engineer was paged for, once each."""
    pages = Delivery.objects.filter(purpose="page", user__username="responder")
    return sorted(pages.values_list("incident__title", flat=True).distinct())


def flood() -> Incident:
    return Incident.objects.get(title=FLOOD_TITLE)


def test_a_flood_opens_n_incidents_and_one_flood_incident_paged_once(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 50)], T0)

    assert Incident.objects.count() == LIMIT + 1
    assert flood().alerts.count() == 50
    attached = flood().timeline.filter(kind=ALERT_ATTACHED)
    assert attached.count() == 50
    assert attached.first().message.startswith("Alert folded into the flood (Nagios)")
    assert (
        Incident.objects.exclude(title=FLOOD_TITLE)
        .filter(alerts__dedup_key__in=[f"disk-{n}" for n in range(LIMIT)])
        .count()
        == LIMIT
    )
    pages = Delivery.objects.filter(purpose="page", user__username="responder")
    assert pages.count() == LIMIT + 1  # one page per incident, one for the flood
    assert pages.filter(incident=flood()).count() == 1


def test_after_the_window_new_alerts_open_incidents_again(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 10)], T0)
    fire(pd, ["next-0", "next-1"], T0 + timedelta(minutes=1))

    assert Incident.objects.count() == LIMIT + 1 + 2
    assert Alert.objects.get(dedup_key="next-0").incident != flood()
    assert len(incidents_paged()) == LIMIT + 1 + 2


def test_a_flood_lasting_into_the_next_minute_stays_one_flood_incident(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 2)], T0)
    fire(pd, [f"cpu-{n}" for n in range(LIMIT + 2)], T0 + timedelta(minutes=1))

    assert Incident.objects.filter(title=FLOOD_TITLE).count() == 1
    assert flood().alerts.count() == 4
    assert len(incidents_paged()) == 2 * LIMIT + 1
    assert Delivery.objects.filter(purpose="page", incident=flood()).count() == 2
    # ... the responder and, for a P1 at declaration, the team lead: once each.


def test_a_refiring_alert_of_the_flood_pages_no_one(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 3)], T0)
    pages = Delivery.objects.filter(purpose="page").count()

    fire(pd, [f"disk-{LIMIT}"], T0 + timedelta(seconds=10), action="resolve")
    fire(pd, [f"disk-{LIMIT}"], T0 + timedelta(minutes=2))

    assert flood().alerts.count() == 4
    assert Delivery.objects.filter(purpose="page").count() == pages


def test_a_more_severe_alert_raises_the_flood_incident_severity(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 1)], T0, severity="warning")
    assert flood().severity_id == "P3"

    fire(pd, ["down"], T0 + timedelta(seconds=5), severity="critical")

    assert flood().severity_id == "P1"
    assert flood().timeline.filter(kind=SEVERITY_CHANGED).exists()


def test_once_the_flood_incident_is_resolved_the_next_flood_opens_another(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 1)], T0)
    Incident.objects.filter(title=FLOOD_TITLE).update(status="resolved")

    fire(pd, ["late"], T0 + timedelta(seconds=30))

    assert Incident.objects.filter(title=FLOOD_TITLE).count() == 2
    assert AlertFlood.objects.get().incident.alerts.get().dedup_key == "late"


def test_a_limit_of_zero_turns_flood_protection_off(pd, settings):
    settings.VIGIL_FLOOD_INCIDENTS_PER_MINUTE = 0
    fire(pd, [f"disk-{n}" for n in range(LIMIT + 5)], T0)

    assert Incident.objects.count() == LIMIT + 5
    assert not Incident.objects.filter(title=FLOOD_TITLE).exists()


def test_events_applied_twice_count_once(pd):
    fire(pd, [f"disk-{n}" for n in range(LIMIT - 1)], T0)
    with time_machine.travel(T0, tick=False):
        assert ingest_process_task(integration_id=pd[0].pk) == 0

    assert AlertFlood.objects.get().declared == LIMIT - 1
    fire(pd, ["one-more"], T0)
    assert not Incident.objects.filter(title=FLOOD_TITLE).exists()
