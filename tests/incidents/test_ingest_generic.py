"""Generic JSON webhook read through the integration's field mapping."""

from __future__ import annotations

import pytest

from incidents.models import Alert, AlertEvent, Incident
from incidents.services import integration_create
from incidents.tasks import ingest_process_task
from tests.factories import verify
from tests.incidents.ingest_helpers import post_json

URL = "/ingest/generic/"
MAPPING = {
    "title": "check.name",
    "severity": "check.level",
    "dedup_key": "check.id",
    "action": "state",
}


@pytest.fixture
def generic(service):
    return integration_create(
        name="Uptime checker",
        kind="generic",
        service=service,
        field_mapping=MAPPING,
        severity_mapping={"down": "P0", "slow": "P2"},
    )


def send(body, generic):
    response = post_json(URL, body, HTTP_AUTHORIZATION=f"Bearer {generic[1]}")
    ingest_process_task(integration_id=generic[0].pk)
    return response


def test_fields_are_read_through_the_mapping(generic):
    body = {"check": {"name": "Homepage down", "level": "down", "id": "home"}}
    response = send(body, generic)
    assert response.status_code == 202
    assert response.json()["dedup_key"] == "home"
    incident = Incident.objects.get()
    assert (incident.title, incident.severity_id) == ("Homepage down", "P0")


def test_a_mapped_resolve_word_resolves(generic):
    send({"check": {"name": "Homepage down", "level": "down", "id": "home"}}, generic)
    verify(Incident.objects.get())
    send({"check": {"id": "home"}, "state": "OK"}, generic)
    assert Alert.objects.get().status == "resolved"
    assert Incident.objects.get().status == "resolved"


def test_without_a_dedup_key_every_trigger_is_a_new_alert(generic):
    first = send({"check": {"name": "Flaky"}}, generic).json()["dedup_key"]
    second = send({"check": {"name": "Flaky"}}, generic).json()["dedup_key"]
    assert first != second
    assert Alert.objects.count() == 2


def test_unmapped_severities_take_the_integrations_default(generic):
    send({"check": {"name": "Odd", "level": "weird", "id": "odd"}}, generic)
    assert Incident.objects.get().severity_id == "P2"


def test_a_trigger_without_title_is_400(generic):
    response = send({"check": {"id": "x"}}, generic)
    assert response.status_code == 400
    assert response.json()["errors"] == ["'check.name' (the title) is missing or blank"]
    assert not AlertEvent.objects.exists()


def test_a_resolve_without_dedup_key_is_400(generic):
    response = send({"state": "resolved"}, generic)
    assert response.status_code == 400
    assert not AlertEvent.objects.exists()


def test_the_default_mapping_reads_plain_fields(service):
    integration, key = integration_create(name="Plain", kind="generic", service=service)
    response = post_json(
        URL,
        {"title": "Queue backlog", "severity": "P1", "dedup_key": "queue"},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 202
    ingest_process_task(integration_id=integration.pk)
    incident = Incident.objects.get()
    assert (incident.title, incident.severity_id) == ("Queue backlog", "P1")
