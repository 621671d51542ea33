"""Beat stopped for two minutes, then started again.

Escalation steps due within VIGIL_ESCALATION_ETA_MAX_SECONDS also travel as
ETA task messages, which fire without beat. Here that horizon is 0 in the
worker and in the test process, so every step after the first waits for the
beat sweep alone: what a longer wait (past the horizon) always does, and
what a lost ETA message leaves. An alert event whose processing message was
lost waits for beat's ingest recovery the same way.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from escalation.models import EscalationStep
from escalation.timeline_kinds import ESCALATED
from incidents.models import Alert, AlertEvent, Incident, TimelineEvent
from incidents.services import integration_create
from notifications.models import Delivery
from tests.escalation.conftest import webhook_policy
from tests.factories import ServiceFactory, declare
from tests.faults.pages import ENV, sent_once_each
from tests.live import start_beat, start_worker, wait_until

OUTAGE = 120.0  # seconds, as the issue has it
WAIT = timedelta(seconds=5)  # between level 1 and level 2
INCIDENTS = 20
BEAT_ONLY = {**ENV, "VIGIL_ESCALATION_ETA_MAX_SECONDS": "0"}


def test_steps_due_while_beat_was_down_fire_once_late_and_say_how_late(
    workers, tmp_path, settings, service, team, receiver
):
    settings.VIGIL_ESCALATION_ETA_MAX_SECONDS = 0
    service.escalation_policy = webhook_policy(
        team, receiver.url, ("first",), ("second",), delay=WAIT
    )
    service.save()
    quiet = ServiceFactory(name="Batch jobs", slug="batch", team=team)  # no policy
    integration, _ = integration_create(name="Cron", kind="pagerduty", service=quiet)
    workers.append(start_worker(tmp_path / "worker.log", concurrency=2, **BEAT_ONLY))
    beat = start_beat(tmp_path / "beat-1.log", **BEAT_ONLY)
    beat.wait_for("escalations-sweep")
    beat.stop()
    stopped = timezone.now()

    declared = [declare(service, "P2", title=f"Job {n} late") for n in range(INCIDENTS)]
    # Stored, but its processing message never reached the broker.
    lost = AlertEvent.objects.create(
        integration=integration,
        service=quiet,
        source=AlertEvent.Source.PAGERDUTY,
        action="trigger",
        dedup_key="nightly-backup",
        payload={
            "event_action": "trigger",
            "dedup_key": "nightly-backup",
            "payload": {
                "summary": "Backup missed",
                "source": "db1",
                "severity": "error",
            },
        },
    )
    first = Delivery.objects.filter(user__username="first")
    wait_until(lambda: first.filter(status="sent").count() == INCIDENTS, "level 1")
    time.sleep(OUTAGE - (timezone.now() - stopped).total_seconds())
    # Long due, and nothing fired them or applied the event without beat.
    assert not EscalationStep.objects.filter(level=2).exists()
    assert AlertEvent.objects.get(pk=lost.pk).processed_at is None
    restarted = timezone.now()
    workers.append(start_beat(tmp_path / "beat-2.log", **BEAT_ONLY))

    second = EscalationStep.objects.filter(level=2)
    wait_until(lambda: second.count() == INCIDENTS, "level 2 after the outage")
    wait_until(
        lambda: AlertEvent.objects.filter(pk=lost.pk, processed_at__isnull=False),
        "the lost event re-driven",
        seconds=30,
    )
    wait_until(
        lambda: Delivery.objects.filter(status="sent").count() == 2 * INCIDENTS,
        "level 2's pages",
    )

    assert second.values("escalation").distinct().count() == INCIDENTS
    for step in second:
        # Due 5 s after level 1, fired once beat was back: late by about the
        # outage, and the step says by how much.
        assert step.users == ["second"]
        assert step.fired_at >= restarted
        assert step.fired_at - restarted < timedelta(seconds=10)
        assert step.due_at < stopped + timedelta(seconds=30)
        assert (
            timedelta(seconds=OUTAGE - 35)
            < step.lateness
            < timedelta(seconds=OUTAGE + 15)
        )
    entries = TimelineEvent.objects.filter(kind=ESCALATED, data__level=2)
    assert sorted(e.data["lateness_seconds"] for e in entries) == sorted(
        round(s.lateness.total_seconds(), 3) for s in second
    )
    assert {e.incident_id for e in entries} == {i.pk for i in declared}
    pages = sent_once_each(Delivery.objects.all(), receiver)
    assert pages.arrived == pages.sent == 2 * INCIDENTS
    assert len(receiver.requests_to("/second")) == INCIDENTS

    alert = Alert.objects.get(integration=integration)
    assert alert.dedup_key == "nightly-backup"
    assert Incident.objects.filter(service=quiet).count() == 1
    assert AlertEvent.objects.get(pk=lost.pk).incident_id == alert.incident_id
    print(f"\nlevel 2 late by {sorted(s.lateness for s in second)[:: INCIDENTS - 1]}")
