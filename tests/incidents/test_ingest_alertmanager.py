"""Alertmanager webhook: one incident per group, alerts by fingerprint."""

from __future__ import annotations

import copy

import pytest

from incidents.models import Alert, AlertEvent, Incident
from incidents.services import integration_create, integration_update
from incidents.tasks import ingest_process_task
from tests.factories import verify
from tests.incidents.ingest_helpers import fixture, post_json

URL = "/ingest/alertmanager/"


@pytest.fixture
def am(service):
    return integration_create(name="Prometheus", kind="alertmanager", service=service)


def send(body, am, **headers):
    headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {am[1]}")
    response = post_json(URL, body, **headers)
    assert response.status_code == 202, response.content
    ingest_process_task(integration_id=am[0].pk)
    return response


def with_alert(body, fingerprint: str, instance: str, status: str = "firing"):
    body = copy.deepcopy(body)
    alert = copy.deepcopy(body["alerts"][0])
    alert.update(fingerprint=fingerprint, status=status)
    alert["labels"]["instance"] = instance
    alert["annotations"]["summary"] = f"Instance {instance} down"
    body["alerts"].append(alert)
    return body


def test_the_fixture_opens_one_incident(am):
    response = send(fixture("alertmanager-webhook.json"), am)
    assert response.content == (
        b'{"status":"success","message":"Webhook accepted: 1 alerts"}'
    )
    alert = Alert.objects.get()
    assert alert.dedup_key == "791cec13fcba0368"
    assert alert.severity == "P1"  # severity="page"
    assert alert.details["labels"]["job"] == "prometheus"
    incident = alert.incident
    assert incident.title == "Instance 127.0.0.1:9090 down"


def test_a_new_alert_joining_the_group_lands_on_the_same_incident(am):
    body = fixture("alertmanager-webhook.json")
    send(body, am)
    send(with_alert(body, "aaaa000000000001", "10.0.0.2:9090"), am)

    assert Incident.objects.count() == 1
    incident = Incident.objects.get()
    assert incident.alerts.count() == 2
    joined = incident.timeline.filter(kind="alert_attached").last()
    assert joined.message.startswith("New alert firing in this group")
    assert "10.0.0.2:9090" in joined.message
    # The first alert was only seen again: no new alert for it.
    assert Alert.objects.get(dedup_key="791cec13fcba0368").event_count == 2


def test_the_incident_resolves_when_every_alert_of_the_group_has(am):
    body = with_alert(fixture("alertmanager-webhook.json"), "aaaa000000000001", "b")
    send(body, am)
    partly = copy.deepcopy(body)
    partly["alerts"][0]["status"] = "resolved"
    partly["status"] = "firing"
    send(partly, am)
    incident = Incident.objects.get()
    assert incident.status == "triggered"
    verify(incident)  # a P1 resolves by itself once verified

    resolved = copy.deepcopy(partly)
    resolved["alerts"][1]["status"] = "resolved"
    resolved["status"] = "resolved"
    send(resolved, am)
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert set(Alert.objects.values_list("status", flat=True)) == {"resolved"}


def test_no_auto_resolve_keeps_the_incident_open(am):
    integration_update(integration=am[0], auto_resolve=False)
    body = fixture("alertmanager-webhook.json")
    send(body, am)
    body["status"] = body["alerts"][0]["status"] = "resolved"
    send(body, am)
    assert Incident.objects.get().status == "triggered"


def test_another_group_opens_another_incident(am):
    body = fixture("alertmanager-webhook.json")
    send(body, am)
    other = copy.deepcopy(body)
    other["groupKey"] = '{}:{alertname="DiskFull"}'
    other["alerts"][0]["fingerprint"] = "bbbb000000000002"
    send(other, am)
    assert Incident.objects.count() == 2


def test_the_key_may_come_as_a_url_token(am):
    response = post_json(f"{URL}?token={am[1]}", fixture("alertmanager-webhook.json"))
    assert response.status_code == 202


def test_without_a_key_it_is_401(am):
    response = post_json(URL, fixture("alertmanager-webhook.json"))
    assert response.status_code == 401
    assert not AlertEvent.objects.exists()


def test_an_unknown_key_is_404(am, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    response = post_json(
        URL, fixture("alertmanager-webhook.json"), HTTP_AUTHORIZATION="Bearer nope"
    )
    assert response.status_code == 404
    assert not AlertEvent.objects.exists()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"version": "3"}, "'version' must be \"4\""),
        ({"groupKey": ""}, "'groupKey' is missing or blank"),
        ({"alerts": []}, "'alerts' must be a non-empty array"),
        ({"alerts": ["x"]}, "'alerts[0]' must be an object"),
        ({"alerts": [{"status": "odd", "labels": {}}]}, "'alerts[0].status' must be"),
        ({"alerts": [{"status": "firing", "labels": {"a": 1}}]},
         "'alerts[0].labels' must be an object of strings"),
        ({"alerts": [{"status": "firing", "labels": {}, "startsAt": "soon"}]},
         "'alerts[0].startsAt' must be"),
    ],
)  # fmt: skip
def test_invalid_webhooks_are_400_and_store_nothing(am, change, error):
    body = fixture("alertmanager-webhook.json") | change
    response = post_json(URL, body, HTTP_AUTHORIZATION=f"Bearer {am[1]}")
    assert response.status_code == 400
    assert any(line.startswith(error) for line in response.json()["errors"])
    assert not AlertEvent.objects.exists()


def test_an_alert_without_fingerprint_is_keyed_by_its_labels(am):
    body = fixture("alertmanager-webhook.json")
    del body["alerts"][0]["fingerprint"]
    send(body, am)
    send(body, am)
    alert = Alert.objects.get()
    assert len(alert.dedup_key) == 16
    assert alert.event_count == 2
