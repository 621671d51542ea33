"""PagerDuty Events API v2 compatibility: /v2/enqueue and /v2/change/enqueue."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection

from incidents.models import Alert, AlertEvent, ChangeEvent, Incident, IngestQuotaWindow
from incidents.services import integration_create, integration_update
from incidents.tasks import ingest_process_task
from incidents.timeline_kinds import ACKNOWLEDGED, RESOLVE_HELD
from tests.conftest import database_unavailable
from tests.factories import core_timeline, verify
from tests.incidents.ingest_helpers import fixture, post_json

ENQUEUE = "/v2/enqueue"


@pytest.fixture
def pd(service):
    integration, key = integration_create(
        name="Nagios", kind="pagerduty", service=service
    )
    return integration, key


@pytest.fixture
def trigger(pd):
    body = fixture("pagerduty-trigger.json")
    body["routing_key"] = pd[1]
    return body


def send(body, pd) -> dict:
    response = post_json(ENQUEUE, body)
    assert response.status_code == 202, response.content
    ingest_process_task(integration_id=pd[0].pk)
    return json.loads(response.content)


def test_the_fixture_is_accepted_with_pagerdutys_exact_bytes(trigger, pd):
    response = post_json(ENQUEUE, trigger)
    assert response.status_code == 202
    assert response["Content-Type"] == "application/json"
    assert (
        response.content
        == b'{"status":"success","message":"Event processed","dedup_key":"srv01/mysql"}'
    )
    event = AlertEvent.objects.get()
    assert event.processed_at is None  # the worker does the rest
    assert "routing_key" not in event.payload  # the secret is not kept


def test_a_valid_key_is_checked_by_the_insert_that_stores_the_event(
    trigger, pd, django_assert_num_queries, settings
):
    """The request path's one round trip (its processing is asked for after
    commit): the key lookup is part of the INSERT."""
    settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = 0
    with django_assert_num_queries(1) as queries:
        assert post_json(ENQUEUE, trigger).status_code == 202
    assert queries.captured_queries[0]["sql"].startswith("INSERT")
    event = AlertEvent.objects.get()
    assert (event.integration_id, event.service_id) == (pd[0].pk, pd[0].service_id)
    assert event.dedup_key == "srv01/mysql"


def test_under_the_quota_a_storm_trigger_is_still_one_insert(
    trigger, pd, django_assert_num_queries
):
    """The first trigger of a key in a minute is counted; the storm after it
    is stored by the one INSERT, which also checks the key was counted."""
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), tick=False):
        assert post_json(ENQUEUE, trigger).status_code == 202
        with django_assert_num_queries(1) as queries:
            assert post_json(ENQUEUE, trigger).status_code == 202
    assert queries.captured_queries[0]["sql"].startswith("INSERT")
    assert AlertEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_under_the_quota_a_new_alert_is_admitted_by_one_statement(
    trigger, pd, django_assert_num_queries
):
    """A key's first trigger in a minute: the storm's INSERT finds it not
    admitted, one statement admits and counts it (its own transaction), the
    INSERT stores it; after that commit, the look for an older pending event."""
    if connection.vendor != "postgresql":
        pytest.skip("elsewhere the admission is a transaction of three statements")
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), tick=False):
        assert post_json(ENQUEUE, trigger | {"dedup_key": "first"}).status_code == 202
        with django_assert_num_queries(4) as queries:
            assert post_json(ENQUEUE, trigger).status_code == 202

    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert statements == ["INSERT", "WITH", "INSERT", "SELECT"]
    assert AlertEvent.objects.filter(dedup_key="srv01/mysql").exists()
    assert IngestQuotaWindow.objects.get().new_alerts == 2


def test_the_request_path_statements_are_prepared_and_the_rest_are_not(trigger, pd):
    """PostgreSQL parses and plans each ingest statement once per connection;
    the ORM's queries keep Django's cursor, and their own plans."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    for n in range(3):
        sent = post_json(ENQUEUE, trigger | {"dedup_key": f"disk-{n}"})
        assert sent.status_code == 202
    for _ in range(10):
        Incident.objects.filter(title="DISK").count()

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    starts = {statement.split("(")[0] for statement in prepared}
    assert 'INSERT INTO "incidents_alertevent" ' in starts
    assert "WITH i AS " in starts
    assert not [sql for sql in prepared if "incidents_incident" in sql]


def test_an_unknown_key_with_an_invalid_event_is_404_not_400(trigger, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    trigger["routing_key"] = "f" * 32
    del trigger["payload"]["summary"]
    assert post_json(ENQUEUE, trigger).status_code == 404
    assert not AlertEvent.objects.exists()


def test_a_trigger_opens_an_incident_with_the_alert_attached(trigger, pd, service):
    send(trigger, pd)

    alert = Alert.objects.get()
    incident = alert.incident
    assert alert.status == "triggered"
    assert alert.severity == "P1"  # critical maps to P1 by default
    assert alert.details["custom_details"]["free space"] == "1%"
    assert incident.title == "DISK at 99% on machine prod-datapipe03.example.com"
    assert incident.service == service
    assert incident.detection_source == "monitoring_alert"
    assert list(core_timeline(incident).values_list("kind", flat=True)) == [
        "created",
        "alert_attached",
    ]
    assert incident.started_at.isoformat().startswith("2015-07-17T08:42:58")
    assert AlertEvent.objects.get().incident == incident


def test_repeated_triggers_are_deduplicated_into_one_alert(trigger, pd):
    for _ in range(3):
        send(trigger, pd)
    alert = Alert.objects.get()
    assert alert.event_count == 3
    assert Incident.objects.count() == 1
    assert AlertEvent.objects.filter(processed_at__isnull=False).count() == 3


def test_a_trigger_without_dedup_key_gets_one(trigger, pd):
    del trigger["dedup_key"]
    body = send(trigger, pd)
    assert len(body["dedup_key"]) == 32
    assert Alert.objects.get().dedup_key == body["dedup_key"]


def test_acknowledge_then_resolve_drive_the_incident(trigger, pd):
    send(trigger, pd)
    key = pd[1]
    send(
        {"routing_key": key, "dedup_key": "srv01/mysql", "event_action": "acknowledge"},
        pd,
    )
    incident = Incident.objects.get()
    assert incident.status == "acknowledged"
    event = incident.timeline.get(kind=ACKNOWLEDGED)
    assert (event.via, event.actor) == ("pagerduty", None)
    assert "acknowledged by Nagios" in event.message
    verify(incident)

    send(
        {"routing_key": key, "dedup_key": "srv01/mysql", "event_action": "resolve"}, pd
    )
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert Alert.objects.get().status == "resolved"
    assert incident.timeline.filter(kind="alert_resolved").count() == 1


def test_a_trigger_after_resolve_opens_a_new_alert_and_incident(trigger, pd):
    send(trigger, pd)
    verify(Incident.objects.get())
    send(
        {"routing_key": pd[1], "dedup_key": "srv01/mysql", "event_action": "resolve"},
        pd,
    )
    send(trigger, pd)
    assert Alert.objects.count() == 2
    assert Alert.objects.filter(status="triggered").count() == 1
    assert Incident.objects.count() == 2


def test_without_auto_resolve_the_incident_stays_open(trigger, pd):
    integration_update(integration=pd[0], auto_resolve=False)
    send(trigger, pd)
    send(
        {"routing_key": pd[1], "dedup_key": "srv01/mysql", "event_action": "resolve"},
        pd,
    )
    assert Alert.objects.get().status == "resolved"
    assert Incident.objects.get().status == "triggered"


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_ack_or_resolve_of_an_unknown_key_is_accepted_and_ignored(pd, action):
    body = {"routing_key": pd[1], "dedup_key": "never-seen", "event_action": action}
    assert send(body, pd)["dedup_key"] == "never-seen"
    assert not Alert.objects.exists()
    assert not Incident.objects.exists()
    assert AlertEvent.objects.get().outcome == "ignored: no open alert with that key"


def test_a_resolve_received_before_its_trigger_was_processed_still_applies(trigger, pd):
    assert post_json(ENQUEUE, trigger).status_code == 202
    resolve = {
        "routing_key": pd[1],
        "dedup_key": "srv01/mysql",
        "event_action": "resolve",
    }
    assert post_json(ENQUEUE, resolve).status_code == 202
    ingest_process_task(integration_id=pd[0].pk)  # both at once, in order
    assert Alert.objects.get().status == "resolved"
    # A P1 is not resolved by its alerts alone: it waits for verification.
    incident = Incident.objects.get()
    assert incident.status == "triggered"
    assert incident.timeline.filter(kind=RESOLVE_HELD).exists()


@pytest.mark.parametrize(
    ("labels", "mapping", "expected"),
    [
        ({}, {}, "P1"),
        ({"priority": "P0"}, {}, "P0"),
        ({"severity": "p2"}, {}, "P2"),
        ({}, {"critical": "P0"}, "P0"),
    ],
)
def test_severity_mapping(trigger, pd, labels, mapping, expected):
    integration_update(integration=pd[0], severity_mapping=mapping)
    trigger["payload"]["custom_details"].update(labels)
    send(trigger, pd)
    assert Incident.objects.get().severity_id == expected


def error_of(response) -> dict:
    body = json.loads(response.content)
    assert set(body) == {"status", "message", "errors"}
    assert body["status"] == "invalid"
    return body


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"event_action": None}, "'event_action' is missing or blank"),
        ({"event_action": "snooze"}, "'event_action' must be one of"),
        ({"payload": None}, "'payload' is missing or not an object"),
        ({"payload": {"summary": "x", "source": "y"}}, "'payload.severity' is missing"),
        ({"payload": {"summary": "x", "source": "y", "severity": "fatal"}},
         "'payload.severity' must be one of"),
        ({"payload": {"summary": "x" * 1025, "source": "y", "severity": "info"}},
         "'payload.summary' must be at most 1024"),
        ({"payload": {"summary": "x", "source": "y", "severity": "info",
                      "timestamp": "yesterday"}}, "'payload.timestamp' must be"),
        ({"dedup_key": "k" * 256}, "'dedup_key' must be at most 255"),
        ({"dedup_key": 7}, "'dedup_key' must be a string"),
        ({"images": [{"href": "x"}]}, "'images[0].src' is missing"),
        ({"links": "nope"}, "'links' must be an array"),
        ({"routing_key": None}, "'routing_key' is missing or blank"),
    ],
)  # fmt: skip
def test_invalid_events_are_400_and_store_nothing(trigger, change, error):
    trigger.update(change)
    response = post_json(ENQUEUE, {k: v for k, v in trigger.items() if v is not None})
    assert response.status_code == 400
    body = error_of(response)
    assert body["message"] == "Event object is invalid"
    assert any(line.startswith(error) for line in body["errors"]), body
    assert not AlertEvent.objects.exists()


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_ack_and_resolve_need_a_dedup_key(pd, action):
    response = post_json(ENQUEUE, {"routing_key": pd[1], "event_action": action})
    assert response.status_code == 400
    assert error_of(response)["errors"] == [f"'dedup_key' is required for {action}"]


def test_malformed_json_is_400(pd):
    response = post_json(ENQUEUE, '{"routing_key": ')
    assert response.status_code == 400
    assert error_of(response)["errors"][0].startswith("malformed JSON")
    assert not AlertEvent.objects.exists()


@pytest.mark.parametrize("body", ["[]", '"text"', "42", "null"])
def test_a_body_that_is_not_an_object_is_400(pd, body):
    assert post_json(ENQUEUE, body).status_code == 400
    assert not AlertEvent.objects.exists()


def test_wrong_content_type_is_415(trigger):
    from django.test import Client

    response = Client().post(ENQUEUE, json.dumps(trigger), content_type="text/plain")
    assert response.status_code == 415
    assert not AlertEvent.objects.exists()


def test_a_body_over_the_limit_is_413(trigger, settings):
    settings.VIGIL_INGEST_MAX_BYTES = 2048
    trigger["payload"]["custom_details"] = {"blob": "x" * 4096}
    response = post_json(ENQUEUE, trigger)
    assert response.status_code == 413
    assert error_of(response)["errors"] == ["the limit is 2048 bytes"]
    assert not AlertEvent.objects.exists()


def test_an_unknown_key_is_404_after_the_fixed_delay(trigger, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0.2
    trigger["routing_key"] = "0" * 32
    started = time.monotonic()
    response = post_json(ENQUEUE, trigger)
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 404
    assert not AlertEvent.objects.exists()


def test_a_disabled_integrations_key_is_unknown(trigger, pd, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    integration_update(integration=pd[0], enabled=False)
    assert post_json(ENQUEUE, trigger).status_code == 404


def test_a_key_of_another_kind_is_refused(trigger, service, settings):
    _, key = integration_create(name="AM", kind="alertmanager", service=service)
    trigger["routing_key"] = key
    response = post_json(ENQUEUE, trigger)
    assert response.status_code == 400
    assert "Prometheus Alertmanager integration" in error_of(response)["errors"][0]


def test_get_is_405(pd):
    from django.test import Client

    assert Client().get(ENQUEUE).status_code == 405


def test_change_events_are_kept_for_the_service(pd, api):
    body = {
        "routing_key": pd[1],
        "payload": {
            "summary": "Deployed checkout v2.3.1",
            "source": "ci",
            "timestamp": "2026-01-02T03:04:05Z",
            "custom_details": {"commit": "abc123"},
        },
        "links": [{"href": "https://ci.example/builds/1", "text": "build"}],
    }
    response = post_json("/v2/change/enqueue", body)
    assert response.status_code == 202
    assert (
        response.content == b'{"status":"success","message":"Change event processed"}'
    )
    change = ChangeEvent.objects.get()
    assert change.summary == "Deployed checkout v2.3.1"
    listed = api.get("/api/v1/services/website/changes/").json()["results"]
    assert [c["summary"] for c in listed] == ["Deployed checkout v2.3.1"]


def test_change_events_need_a_summary(pd):
    response = post_json("/v2/change/enqueue", {"routing_key": pd[1], "payload": {}})
    assert response.status_code == 400
    assert not ChangeEvent.objects.exists()


def test_while_the_database_is_unavailable_enqueue_is_503_and_stores_nothing(trigger):
    with database_unavailable("INSERT"):
        response = post_json(ENQUEUE, trigger)

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert json.loads(response.content) == {
        "status": "unavailable",
        "message": "Service unavailable",
        "errors": ["the event was not stored: retry later"],
    }
    assert not AlertEvent.objects.exists()
    assert post_json(ENQUEUE, trigger).status_code == 202  # and once it is back
