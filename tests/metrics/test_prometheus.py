"""`GET /metrics`: the platform's health, read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from config.celery import QUEUES
from escalation.models import Escalation
from incidents.models import ActionItem, AlertEvent, Incident, PostIncidentReview
from incidents.services import incident_record_missed_targets, user_report_create
from metrics.models import RollupDeclared
from metrics.services import rollups_refresh, worker_heartbeat_record
from notifications.models import Delivery
from notifications.services import page_user
from tests.factories import ContactMethodFactory
from tests.metrics.conftest import T0, worked

HOUR = timedelta(hours=1)


def scrape(client: Client | None = None, **headers: str) -> dict[tuple, float]:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_open_incidents_are_counted_by_severity_team_and_drill(service):
    worked(service, "P1")
    worked(service, "P1", ack=timedelta(minutes=1))
    worked(service, "P2", is_drill=True)
    worked(service, "P3", ack=timedelta(minutes=1), resolve=timedelta(hours=1))

    samples = scrape()

    labels = [("drill", "false"), ("severity", "P1"), ("team", "platform")]
    assert samples[("vigil_open_incidents", *labels)] == 2
    assert (
        samples[
            (
                "vigil_open_incidents",
                ("drill", "true"),
                ("severity", "P2"),
                ("team", "platform"),
            )
        ]
        == 1
    )
    assert (
        "vigil_open_incidents",
        ("drill", "false"),
        ("severity", "P3"),
        ("team", "platform"),
    ) not in samples
    assert (
        samples[("vigil_incidents_total", ("drill", "false"), ("severity", "P3"))] == 1
    )


def declared(samples: dict[tuple, float]) -> dict[tuple[str, str], float]:
    return {
        (dict(key[1:])["severity"], dict(key[1:])["drill"]): value
        for key, value in samples.items()
        if key[0] == "vigil_incidents_total"
    }


def test_incidents_declared_count_rolled_up_days_from_their_counts(service):
    for days_ago, severity, extra in (
        (40, "P1", {}),
        (40, "P1", {"is_drill": True}),
        (20, "P2", {}),
        (0, "P2", {}),
    ):
        worked(service, severity, at=T0 - timedelta(days=days_ago), **extra)
    restricted = worked(service, "P2", at=T0 - timedelta(days=20))
    cancelled = worked(service, "P3", at=T0 - timedelta(days=30))
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        restricted.restricted = True
        restricted.save()
        cancelled.status = Incident.Status.CANCELLED
        cancelled.save()
        expected = {
            ("P1", "false"): 1,
            ("P1", "true"): 1,
            ("P2", "false"): 3,
            ("P3", "false"): 1,
        }
        assert declared(scrape()) == expected
        rollups_refresh(now=timezone.now())
        assert declared(scrape()) == expected
        # Rewritten behind the rollups' back (an update sends no signal), the
        # rolled-up days still count as built: today's incident is the only
        # one read from the incidents.
        Incident.objects.update(is_drill=True)
        assert declared(scrape()) == expected | {("P2", "false"): 2, ("P2", "true"): 1}
        assert sum(RollupDeclared.objects.values_list("incidents", flat=True)) == 5


def test_missed_targets_are_counted_as_sla_breaches(service):
    worked(service, "P1")  # 1 h to acknowledge, 4 h to resolve
    incident_record_missed_targets(now=T0 + timedelta(hours=5))

    samples = scrape()

    for target in ("ack", "resolve"):
        key = (
            "vigil_sla_breaches_total",
            ("drill", "false"),
            ("severity", "P1"),
            ("target", target),
        )
        assert samples[key] == 1


def test_reviews_and_action_items_past_their_deadlines_are_counted(service, responder):
    late_report = worked(service, "P1", ack=timedelta(minutes=5), resolve=HOUR)
    late_meeting = worked(service, "P1", ack=timedelta(minutes=5), resolve=HOUR)
    published = worked(service, "P0", ack=timedelta(minutes=5), resolve=HOUR)
    reviews = PostIncidentReview.objects.filter
    reviews(incident=late_meeting).update(state="initial_published")
    reviews(incident=published).update(state="published")
    review = reviews(incident=late_report).get()
    today = timezone.localdate(review.meeting_due_at) + timedelta(days=1)
    for due, status, priority in (
        (today - timedelta(days=1), "open", "high"),
        (today, "open", "high"),
        (today - timedelta(days=3), "done", "high"),
        (today - timedelta(days=3), "open", "low"),
    ):
        ActionItem.objects.create(
            incident=published,
            title="Fix",
            owner=responder,
            due_date=due,
            status=status,
            priority=priority,
        )

    with time_machine.travel(review.initial_due_at + timedelta(minutes=1), tick=False):
        before_the_meeting = scrape()
    with time_machine.travel(review.meeting_due_at + timedelta(days=1), tick=False):
        after_the_meeting = scrape()

    team = ("team", "platform")
    initial = ("vigil_reviews_overdue", ("deadline", "initial_report"))
    meeting = ("vigil_reviews_overdue", ("deadline", "review_meeting"))
    assert before_the_meeting[(*initial, ("severity", "P1"), team)] == 1
    assert (*meeting, ("severity", "P1"), team) not in before_the_meeting
    assert after_the_meeting[(*initial, ("severity", "P1"), team)] == 1
    assert after_the_meeting[(*meeting, ("severity", "P1"), team)] == 2
    assert (*initial, ("severity", "P0"), team) not in after_the_meeting
    overdue = "vigil_action_items_overdue"
    assert after_the_meeting[(overdue, ("priority", "high"), team)] == 1
    assert after_the_meeting[(overdue, ("priority", "low"), team)] == 1


def test_backlogs_are_the_age_of_the_oldest_waiting_row(service, responder):
    with time_machine.travel(T0, tick=False):
        user_report_create(
            service=service, title="Down", description="", severity="", by=responder
        )
    ContactMethodFactory(user=responder)
    incident = worked(service, "P2")
    page_user(incident=incident, user=responder, event_key="k", now=T0)
    Delivery.objects.update(status="pending", due_at=T0)
    Escalation.objects.filter(incident=incident).update(
        state="active", due_at=T0 - timedelta(seconds=30)
    )

    with time_machine.travel(T0 + timedelta(seconds=90), tick=False):
        samples = scrape()

    assert AlertEvent.objects.filter(processed_at__isnull=True).exists()
    assert samples[("vigil_ingest_backlog_seconds",)] == 90
    assert samples[("vigil_escalation_lag_seconds",)] == 120
    assert samples[("vigil_deliveries_pending",)] == Delivery.objects.count() > 0
    assert samples[("vigil_deliveries_oldest_pending_seconds",)] == 90
    assert samples[("vigil_deliveries_failed",)] == 0


def test_nothing_waiting_reads_zero(db):
    samples = scrape()

    assert samples[("vigil_ingest_backlog_seconds",)] == 0
    assert samples[("vigil_escalation_lag_seconds",)] == 0
    assert samples[("vigil_deliveries_oldest_pending_seconds",)] == 0


def test_every_queue_s_depth_comes_from_the_broker(db):
    samples = scrape()

    assert {key[1] for key in samples if key[0] == "vigil_queue_depth"} == {
        ("queue", name) for name in QUEUES
    }
    assert {"pages", "ingest", "notifications"} <= set(QUEUES)


def test_beat_jobs_and_worker_heartbeats_report_their_age(db):
    every = IntervalSchedule.objects.create(every=10, period="seconds")
    now = timezone.now()
    PeriodicTask.objects.create(
        name="ingest-recover",
        task="incidents.tasks.ingest_recover_task",
        interval=every,
        last_run_at=now - timedelta(seconds=40),
    )
    worker_heartbeat_record(worker="celery@one", now=now - timedelta(seconds=20))

    with time_machine.travel(now, tick=False):
        samples = scrape()

    assert (
        samples[("vigil_beat_job_last_run_age_seconds", ("job", "ingest-recover"))]
        == 40
    )
    assert (
        samples[("vigil_worker_heartbeat_age_seconds", ("worker", "celery@one"))] == 20
    )


def test_a_heartbeat_only_moves_forward(db):
    now = timezone.now()
    worker_heartbeat_record(worker="celery@one", now=now)
    worker_heartbeat_record(worker="celery@one", now=now - timedelta(minutes=1))

    with time_machine.travel(now + timedelta(seconds=5), tick=False):
        samples = scrape()

    assert (
        samples[("vigil_worker_heartbeat_age_seconds", ("worker", "celery@one"))] == 5
    )


@pytest.fixture
def token(settings):
    settings.VIGIL_METRICS_TOKEN = "s3cret"
    return "s3cret"


def test_with_a_token_set_a_scrape_needs_it(db, token):
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    assert scrape(Authorization=f"Bearer {token}")[("vigil_deliveries_failed",)] == 0
