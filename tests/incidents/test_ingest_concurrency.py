"""Dedup under concurrency, duplicate task delivery and lost messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from incidents.models import Alert, AlertEvent, Incident
from incidents.services import integration_create
from incidents.tasks import ingest_process_task, ingest_recover_task
from tests.concurrency import in_threads
from tests.incidents.ingest_helpers import fixture, post_json

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_fifty_simultaneous_identical_triggers_make_one_alert_and_one_incident(
    service,
):
    integration, key = integration_create(name="PD", kind="pagerduty", service=service)
    body = fixture("pagerduty-trigger.json") | {"routing_key": key}
    statuses: list[int] = []

    errors = in_threads(
        50, lambda n: statuses.append(post_json("/v2/enqueue", body).status_code)
    )
    assert errors == []
    assert statuses == [202] * 50
    assert AlertEvent.objects.count() == 50

    # Several workers take the same integration's events at the same time.
    errors = in_threads(5, lambda n: ingest_process_task(integration_id=integration.pk))
    assert errors == []
    assert AlertEvent.objects.filter(processed_at__isnull=True).count() == 0
    alert = Alert.objects.get()
    assert alert.event_count == 50
    assert Incident.objects.count() == 1


def test_a_task_delivered_twice_applies_each_event_once(service):
    integration, key = integration_create(name="PD", kind="pagerduty", service=service)
    body = fixture("pagerduty-trigger.json") | {"routing_key": key}
    assert post_json("/v2/enqueue", body).status_code == 202

    assert ingest_process_task(integration_id=integration.pk) == 1
    assert ingest_process_task(integration_id=integration.pk) == 0
    assert Alert.objects.get().event_count == 1
    assert Incident.objects.get().timeline.filter(kind="alert_attached").count() == 1


def test_an_event_whose_message_was_lost_is_recovered_by_the_sweep(
    service, monkeypatch
):
    _, key = integration_create(name="PD", kind="pagerduty", service=service)
    body = fixture("pagerduty-trigger.json") | {"routing_key": key}
    assert post_json("/v2/enqueue", body).status_code == 202
    AlertEvent.objects.update(received_at=timezone.now() - timedelta(minutes=1))
    # Run re-driven tasks in this process, as a worker would.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)

    assert ingest_recover_task() == 1
    assert AlertEvent.objects.get().processed_at is not None
    assert Incident.objects.count() == 1
    assert ingest_recover_task() == 0


def test_fresh_events_are_left_to_their_own_message(service, monkeypatch):
    _, key = integration_create(name="PD", kind="pagerduty", service=service)
    body = fixture("pagerduty-trigger.json") | {"routing_key": key}
    assert post_json("/v2/enqueue", body).status_code == 202
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    assert ingest_recover_task() == 0
    assert AlertEvent.objects.get().processed_at is None
