"""An event that cannot be applied is quarantined and never blocks the ones behind it.

The poison rows here are written behind the request path's back, as rows
stored before it refused them would be.
"""

from __future__ import annotations

import pytest
from django.db import connection

from incidents.exceptions import EventFailedError, EventStateError
from incidents.models import Alert, AlertEvent, Incident, Integration
from incidents.services import alert_event_redrive, integration_create
from incidents.tasks import ingest_process_task
from tests.conftest import api_client
from tests.incidents.ingest_helpers import fixture, post_json

DEEP = '{"title": "deep", "x": ' + "[" * 950 + "]" * 950 + "}"


@pytest.fixture
def generic(service) -> tuple[Integration, str]:
    return integration_create(name="Checks", kind="generic", service=service)


def send(generic, title: str, **fields: str) -> AlertEvent:
    response = post_json(
        "/ingest/generic/",
        {"title": title, **fields},
        HTTP_AUTHORIZATION=f"Bearer {generic[1]}",
    )
    assert response.status_code == 202, response.content
    return AlertEvent.objects.latest("id")


def poison(event: AlertEvent, raw_payload: str = DEEP) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_alertevent SET payload = %s WHERE id = %s",
            [raw_payload, event.pk],
        )


def process(generic) -> int:
    return ingest_process_task(integration_id=generic[0].pk)


def test_a_deep_row_is_quarantined_after_three_attempts_and_the_rest_go_on(generic):
    before = send(generic, "Before")
    bad = send(generic, "Bad")
    poison(bad)
    after = send(generic, "After", dedup_key="after")

    for attempt in (1, 2):
        with pytest.raises(EventFailedError, match=f"event {bad.pk} failed"):
            process(generic)
        bad.refresh_from_db()
        assert (bad.status, bad.attempts) == ("pending", attempt)
    # Events before it were applied at once; the one behind it waits its turn.
    assert AlertEvent.objects.get(pk=before.pk).status == "processed"
    assert AlertEvent.objects.get(pk=after.pk).status == "pending"

    assert process(generic) == 2  # the bad one quarantined, the next applied
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert bad.attempts == 3
    assert bad.failed_at == bad.processed_at is not None
    assert bad.error == "ValueError: the payload is nested deeper than 200 levels"
    assert bad.outcome.startswith("failed 3 times: ValueError")
    assert AlertEvent.objects.get(pk=after.pk).status == "processed"
    assert set(Incident.objects.values_list("title", flat=True)) == {"Before", "After"}


def test_a_row_that_breaks_processing_is_quarantined_with_its_error(service, settings):
    settings.VIGIL_INGEST_MAX_ATTEMPTS = 1
    integration, key = integration_create(name="PD", kind="pagerduty", service=service)
    trigger = fixture("pagerduty-trigger.json") | {"routing_key": key}
    assert post_json("/v2/enqueue", trigger).status_code == 202
    bad = AlertEvent.objects.get()
    poison(bad, "[1, 2]")  # a PagerDuty event is an object
    assert post_json("/v2/enqueue", trigger).status_code == 202

    assert ingest_process_task(integration_id=integration.pk) == 2
    bad.refresh_from_db()
    assert bad.status == "failed"
    assert bad.error.startswith("TypeError: ")
    assert AlertEvent.objects.latest("id").status == "processed"
    assert Alert.objects.get().event_count == 1


def test_a_trigger_failing_once_still_comes_before_the_resolve_behind_it(generic):
    # The integration maps to a severity nobody created yet: triggers fail.
    Integration.objects.filter(pk=generic[0].pk).update(default_severity="P9")
    send(generic, "Disk full", dedup_key="disk")
    send(generic, "Disk full", dedup_key="disk", action="resolve")

    with pytest.raises(EventFailedError):
        process(generic)
    assert not Alert.objects.exists()
    assert AlertEvent.objects.filter(AlertEvent.with_status("pending")).count() == 2

    Integration.objects.filter(pk=generic[0].pk).update(default_severity="P2")
    assert process(generic) == 2
    assert Alert.objects.get().status == "resolved"
    assert Incident.objects.get().status == "resolved"
    assert AlertEvent.objects.first().attempts == 1


def test_a_quarantined_event_is_redriven_once_its_cause_is_fixed(generic, settings):
    settings.VIGIL_INGEST_MAX_ATTEMPTS = 1
    Integration.objects.filter(pk=generic[0].pk).update(default_severity="P9")
    event = send(generic, "Disk full")
    process(generic)
    event.refresh_from_db()
    assert event.status == "failed"
    assert "SeverityLevel matching query does not exist" in event.error

    Integration.objects.filter(pk=generic[0].pk).update(default_severity="P2")
    redriven = alert_event_redrive(event=event)
    assert (redriven.status, redriven.attempts, redriven.error) == ("pending", 0, "")
    assert process(generic) == 1
    event.refresh_from_db()
    assert event.status == "processed"
    assert Incident.objects.get().title == "Disk full"


def test_only_a_failed_event_can_be_redriven(generic):
    event = send(generic, "Fine")
    process(generic)
    event.refresh_from_db()
    with pytest.raises(EventStateError, match="this one is processed"):
        alert_event_redrive(event=event)
    assert AlertEvent.objects.get().status == "processed"


@pytest.fixture
def quarantined(generic, settings) -> AlertEvent:
    settings.VIGIL_INGEST_MAX_ATTEMPTS = 1
    event = send(generic, "Bad")
    poison(event)
    process(generic)
    return AlertEvent.objects.get(pk=event.pk)


def test_the_admin_pages_of_the_integration_and_its_events_render(
    generic, quarantined, admin_client
):
    pages = [
        f"/admin/incidents/integration/{generic[0].pk}/change/",
        "/admin/incidents/alertevent/",
        f"/admin/incidents/alertevent/?integration__id__exact={generic[0].pk}",
        f"/admin/incidents/alertevent/{quarantined.pk}/change/",
    ]
    for page in pages:
        assert admin_client.get(page).status_code == 200, page
    failed = admin_client.get("/admin/incidents/alertevent/?status=failed")
    assert failed.context["cl"].result_count == 1
    assert '<td class="field-state">Failed (quarantined)</td>' in (
        failed.content.decode()
    )
    change = admin_client.get(f"/admin/incidents/alertevent/{quarantined.pk}/change/")
    assert "nested deeper than 200 levels" in change.content.decode()


def test_a_pending_deep_row_does_not_break_the_admin_either(generic, admin_client):
    poison(send(generic, "Bad"))
    assert admin_client.get("/admin/incidents/alertevent/").status_code == 200


def test_the_admin_action_redrives_the_selected_failed_events(
    generic, quarantined, admin_client
):
    response = admin_client.post(
        "/admin/incidents/alertevent/",
        {"action": "redrive", "_selected_action": [quarantined.pk]},
        follow=True,
    )
    assert "Re-driven" in response.content.decode()
    assert AlertEvent.objects.get().status == "pending"


def test_the_api_lists_failed_events_with_their_error_and_redrives_them(
    quarantined, responder
):
    api = api_client(responder)
    listed = api.get("/api/v1/alert-events/", {"status": "failed"}).json()
    assert [e["id"] for e in listed["results"]] == [quarantined.pk]
    event = listed["results"][0]
    assert (event["status"], event["attempts"]) == ("failed", 1)
    assert event["error"] == "ValueError: the payload is nested deeper than 200 levels"
    assert (
        api.get("/api/v1/alert-events/", {"status": "pending"}).json()["results"] == []
    )

    response = api.post(f"/api/v1/alert-events/{quarantined.pk}/redrive/")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    again = api.post(f"/api/v1/alert-events/{quarantined.pk}/redrive/")
    assert again.status_code == 409
    assert again.json()["code"] == "event_state"


def test_an_outsider_cannot_redrive_another_teams_event(quarantined, outsider):
    response = api_client(outsider).post(
        f"/api/v1/alert-events/{quarantined.pk}/redrive/"
    )
    assert response.status_code == 404
    assert AlertEvent.objects.get().status == "failed"
