"""The per-integration quota on new alerts: 429 with Retry-After, storms free."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection

from incidents.models import AlertEvent, IngestQuotaKey, IngestQuotaWindow
from incidents.services import integration_create
from incidents.tasks import ingest_process_task
from tests.concurrency import in_threads
from tests.incidents.ingest_helpers import fixture, post_json

ENQUEUE = "/v2/enqueue"
LIMIT = 3
# 20 s into a minute: a refusal says to come back in 40 s.
T0 = datetime(2026, 11, 23, 9, 0, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _small_quota(settings):
    settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = LIMIT


@pytest.fixture
def pd(service):
    return integration_create(name="Nagios", kind="pagerduty", service=service)


def trigger(key: str, dedup_key: str, action: str = "trigger"):
    body = fixture("pagerduty-trigger.json")
    return body | {"routing_key": key, "dedup_key": dedup_key, "event_action": action}


def test_new_alerts_past_the_quota_are_refused_with_retry_after(pd):
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT):
            assert post_json(ENQUEUE, trigger(pd[1], f"disk-{n}")).status_code == 202
        refused = post_json(ENQUEUE, trigger(pd[1], "disk-over"))

    assert refused.status_code == 429
    assert refused["Retry-After"] == "40"
    body = json.loads(refused.content)
    assert body["status"] == "throttle exceeded"
    assert body["errors"] == [
        f"more than {LIMIT} new alerts this minute from this integration; retry in 40 s"
    ]


def test_nothing_is_stored_for_a_refused_event(pd):
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT):
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}"))
        assert post_json(ENQUEUE, trigger(pd[1], "disk-over")).status_code == 429

    assert not AlertEvent.objects.filter(dedup_key="disk-over").exists()
    assert not IngestQuotaKey.objects.filter(dedup_key="disk-over").exists()
    assert IngestQuotaWindow.objects.get().new_alerts == LIMIT


def test_a_changed_quota_applies_within_the_minute(pd, settings):
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT - 1):
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}"))
        settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = LIMIT - 1
        lowered = post_json(ENQUEUE, trigger(pd[1], "disk-lowered"))
        settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = LIMIT + 1
        raised = [
            post_json(ENQUEUE, trigger(pd[1], f"disk-raised-{n}")).status_code
            for n in range(3)
        ]

    assert lowered.status_code == 429
    assert raised == [202, 202, 429]


def test_a_storm_on_an_admitted_key_is_never_refused(pd):
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT):
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}"))
        statuses = {
            post_json(ENQUEUE, trigger(pd[1], "disk-0")).status_code for _ in range(50)
        }

    assert statuses == {202}
    assert AlertEvent.objects.filter(dedup_key="disk-0").count() == 51


def test_a_trigger_of_an_open_alert_does_not_count(pd):
    with time_machine.travel(T0, tick=False):
        post_json(ENQUEUE, trigger(pd[1], "still-firing"))
        ingest_process_task(integration_id=pd[0].pk)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        for n in range(LIMIT):
            assert post_json(ENQUEUE, trigger(pd[1], f"disk-{n}")).status_code == 202
        again = post_json(ENQUEUE, trigger(pd[1], "still-firing"))

    assert again.status_code == 202


def test_acknowledge_and_resolve_are_never_refused(pd):
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT):
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}"))
        acknowledged = post_json(ENQUEUE, trigger(pd[1], "other", "acknowledge"))
        resolved = post_json(ENQUEUE, trigger(pd[1], "another", "resolve"))

    assert (acknowledged.status_code, resolved.status_code) == (202, 202)


def test_the_next_minute_admits_new_alerts_again_and_forgets_the_last(pd):
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT + 1):
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}"))
    with time_machine.travel(T0 + timedelta(seconds=40), tick=False):
        assert post_json(ENQUEUE, trigger(pd[1], "disk-next")).status_code == 202

    assert IngestQuotaWindow.objects.get().new_alerts == 1
    assert list(IngestQuotaKey.objects.values_list("dedup_key", flat=True)) == [
        "disk-next"
    ]


def test_each_integration_has_its_own_quota(pd, service):
    _, other = integration_create(name="Zabbix", kind="pagerduty", service=service)
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT):
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}"))
        assert post_json(ENQUEUE, trigger(other, "disk-0")).status_code == 202


def test_a_quota_of_zero_turns_it_off(pd, settings):
    settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE = 0
    with time_machine.travel(T0, tick=False):
        statuses = {
            post_json(ENQUEUE, trigger(pd[1], f"disk-{n}")).status_code
            for n in range(LIMIT * 5)
        }
    assert statuses == {202}


def test_alertmanager_groups_and_generic_alerts_share_the_quota(service):
    _, am_key = integration_create(name="AM", kind="alertmanager", service=service)
    _, generic_key = integration_create(name="Hook", kind="generic", service=service)
    webhook = fixture("alertmanager-webhook.json")
    with time_machine.travel(T0, tick=False):
        for n in range(LIMIT + 1):
            am = post_json(
                "/ingest/alertmanager/",
                webhook | {"groupKey": f'{{}}:{{alertname="Disk{n}"}}'},
                HTTP_AUTHORIZATION=f"Bearer {am_key}",
            )
            generic = post_json(
                f"/ingest/generic/?token={generic_key}", {"title": f"Disk {n}"}
            )

    assert am.status_code == 429
    assert am["Retry-After"] == "40"
    assert generic.status_code == 429
    assert AlertEvent.objects.count() == 2 * LIMIT


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_simultaneous_new_alerts_are_admitted_up_to_the_quota_exactly(pd):
    statuses: list[int] = []

    def send(n: int) -> None:
        key = "same" if n % 2 else f"disk-{n}"  # half of them race on one key
        statuses.append(post_json(ENQUEUE, trigger(pd[1], key)).status_code)

    with time_machine.travel(T0, tick=False):
        errors = in_threads(12, send)

    assert errors == []
    assert sorted(set(statuses)) == [202, 429]
    admitted = set(AlertEvent.objects.values_list("dedup_key", flat=True).distinct())
    assert len(admitted) == LIMIT
    assert IngestQuotaWindow.objects.get().new_alerts == LIMIT
    assert AlertEvent.objects.count() == statuses.count(202)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_admitted_event_is_still_committed_to_disk_before_the_answer(pd):
    # The admission's own commit need not wait for the disk; the event's must.
    if connection.vendor != "postgresql":
        pytest.skip("commit durability is PostgreSQL's setting")
    with time_machine.travel(T0, tick=False):
        assert post_json(ENQUEUE, trigger(pd[1], "disk-0")).status_code == 202

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
    assert IngestQuotaKey.objects.filter(dedup_key="disk-0").exists()
