"""Every task type, its message delivered twice: the work is done once.

RabbitMQ delivers at least once: a worker whose acknowledgement is lost
(connection cut after the task ran) has its message handed out again, to
itself or to another worker. Each case puts the database in a state where
one task type has real work to do, publishes one task message (one id, one
body) twice to two real workers, and counts what came of it once both
copies and everything they caused have run: alerts, incidents, escalation
steps, timeline entries, deliveries, and the requests a local webhook
receiver got, which are what a responder's phone or a chat would show.

Two ways the copies arrive: `after`, the second published once the first
has finished (the lost acknowledgement); `together`, both at once, one to
each idle worker (two workers racing on the same work).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import pytest
from celery import Task
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from config.celery import QUEUES, app
from escalation.models import (
    Drill,
    DrillScenario,
    DrillSchedule,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    UpdateReminder,
)
from escalation.services import drill_schedule_create, drill_start
from escalation.tasks import (
    drill_slot_fire_task,
    drills_sweep_task,
    escalation_ack_expiry_sweep_task,
    escalation_step_task,
    escalations_sweep_task,
    update_reminders_sweep_task,
)
from escalation.timeline_kinds import (
    ESCALATED,
    ESCALATION_RESTARTED,
    UPDATE_OVERDUE_PAGED,
    UPDATE_REMINDER_SENT,
)
from incidents.ingest.signals import TRIGGER
from incidents.models import (
    ActionItemDigest,
    Alert,
    AlertEvent,
    Incident,
    Integration,
    MaintenanceWindow,
    PostIncidentReview,
    ReviewReminder,
    Service,
    Team,
    TimelineEvent,
)
from incidents.services import (
    incident_acknowledge,
    incident_transition,
    integration_create,
)
from incidents.services.action_items import action_item_create
from incidents.tasks import (
    action_item_digests_task,
    incident_targets_sweep_task,
    ingest_heartbeat_check_task,
    ingest_process_task,
    ingest_recover_task,
    maintenance_windows_close_task,
    review_reminders_task,
)
from incidents.timeline_kinds import (
    ACK_TARGET_MISSED,
    ALERT_ATTACHED,
    CREATED,
    PIR_REMINDED,
    RESOLVE_TARGET_MISSED,
)
from metrics.models import RollupCell, RollupDirty, RollupState, WorkerHeartbeat
from metrics.services import rollups_refresh
from metrics.tasks import rollups_refresh_task, worker_heartbeat_task
from notifications.models import (
    Channel,
    ContactTestRound,
    Delivery,
    Kind,
    NotificationRule,
)
from notifications.services import contact_test_round_start, page_user
from notifications.services.deliveries import Target, deliveries_write
from notifications.tasks import (
    contact_tests_start_task,
    contact_tests_sweep_task,
    deliveries_dispatch_due_task,
    deliveries_recover_task,
    deliveries_send_task,
)
from notifications.timeline_kinds import NOTIFICATION_SENT
from tests.escalation.conftest import add_level, user_target
from tests.factories import (
    ContactMethodFactory,
    MembershipFactory,
    declare,
    verify,
    webhook_contact,
)
from tests.live import Process, start_worker, wait_until
from tests.notifications.servers import HTTPReceiver

ENV = {
    "VIGIL_OUTBOUND_ALLOWLIST": "127.0.0.1/32",
    "VIGIL_DELIVERY_LEASE_SECONDS": "60",
    # An event that fails is quarantined at once, not retried later.
    "VIGIL_INGEST_MAX_ATTEMPTS": "1",
    # The quarter's contact test is due from its first day's midnight on.
    "VIGIL_CONTACT_TEST_HOUR": "0",
}
LEASE = timedelta(seconds=60)
# Longer than any ETA the engine hands to the broker: the next level waits
# in the database, so that nothing is left running when a case ends.
LEVEL_WAIT = timedelta(hours=1)
MODES = ("after", "together")
# How a worker logs the end of a task, whatever the outcome.
ENDED = re.compile(r"\] (?:succeeded in|raised unexpected|retry:|ignored|rejected)")


@pytest.fixture(scope="module")
def pair(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Process]]:
    """Two real workers for the whole module: starting them is the slow part."""
    app.control.purge()
    logs = tmp_path_factory.mktemp("redelivery")
    started: list[Process] = []
    try:
        for n in range(2):
            started.append(start_worker(logs / f"worker-{n}.log", **ENV))
        yield started
    finally:
        for process in started:
            process.stop()


@dataclass(frozen=True)
class World:
    """A service whose policy pages `responder`, then `lead` an hour later,
    each by a webhook to the receiver (`/responder`, `/lead`)."""

    team: Team
    service: Service
    responder: User
    lead: User
    receiver: HTTPReceiver

    def pages(self) -> dict[str, int]:
        return {
            name: len(self.receiver.requests_to(f"/{name}"))
            for name in ("responder", "lead")
        }


@pytest.fixture
def world(
    django_db_serialized_rollback: None,
    transactional_db: None,
    pair: list[Process],
    team: Team,
    service: Service,
    responder: User,
    receiver: HTTPReceiver,
) -> World:
    lead = MembershipFactory(team=team, user__username="lead").user
    policy = EscalationPolicy.objects.create(name="Two levels", team=team)
    for position, user in enumerate((responder, lead), start=1):
        webhook_contact(user, receiver.url(f"/{user.username}"))
        add_level(policy, position, user.username, user_target(user), delay=LEVEL_WAIT)
    service.escalation_policy = policy
    service.save()
    return World(team, service, responder, lead, receiver)


# Delivering one message twice ------------------------------------------------


def _log(workers: list[Process]) -> str:
    return "".join(worker.log.read_text() for worker in workers)


def _queued() -> int:
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        return sum(
            channel.queue_declare(queue=name, passive=True).message_count
            for name in QUEUES
        )


def settle(workers: list[Process]) -> None:
    """Wait until the queues are empty and every task received has ended.

    Twice the same answer in a row, so that a task's follow-up message
    (published as it ends) is seen before the workers count as idle.
    """
    last: tuple[int, int, int] | None = None

    def idle() -> bool:
        nonlocal last
        text = _log(workers)
        now = (text.count("] received"), len(ENDED.findall(text)), _queued())
        quiet = now[0] == now[1] and now[2] == 0 and now == last
        last = now
        return quiet

    wait_until(idle, "the workers to finish everything", seconds=60, every=0.3)


def ended(workers: list[Process], task_id: str) -> list[str]:
    """Return the log line of each copy of the message that has ended."""
    return [
        line
        for line in _log(workers).splitlines()
        if f"[{task_id}]" in line and ENDED.search(line)
    ]


def deliver_twice(
    workers: list[Process],
    task: Task,
    kwargs: dict[str, Any],
    mode: str,
    lane: dict[str, Any] | None = None,
) -> list[str]:
    """Publish one message of `task` twice; return how the two copies ended.

    The message is built once and sent twice as it is: what RabbitMQ hands
    out again after a lost acknowledgement. `lane`: the queue (and priority)
    it goes to when not the task's own route.
    """
    settle(workers)  # the set-up's own messages first
    task_id = str(uuid.uuid4())
    message = app.amqp.create_task_message(task_id, task.name, (), kwargs)
    route = app.amqp.router.route(lane or {}, task.name, (), kwargs)
    with app.producer_or_acquire() as producer:
        for copy in range(2):
            if copy and mode == "after":
                wait_until(lambda: ended(workers, task_id), "the first copy to end")
            app.amqp.send_task_message(producer, task.name, message, **route)
    wait_until(lambda: len(ended(workers, task_id)) == 2, "both copies to end")
    settle(workers)
    return ended(workers, task_id)


# State with work to do, and what doing it once leaves ------------------------


@dataclass(frozen=True)
class Case:
    task: Task
    kwargs: dict[str, Any]
    check: Callable[[list[str]], None]
    lane: dict[str, Any] | None = None  # the queue, when not the task's route


def alert_events(world: World, *, ago: timedelta) -> Integration:
    """Store three events, as the request path does, that no task processed:
    two of key `disk` (one alert, counted twice) and one of key `cpu`."""
    integration, _ = integration_create(
        name="Prometheus", kind="generic", service=world.service
    )
    for key in ("disk", "disk", "cpu"):
        AlertEvent.objects.create(
            integration=integration,
            service=world.service,
            source=AlertEvent.Source.GENERIC,
            action=TRIGGER,
            dedup_key=key,
            payload={"title": f"{key} is full", "dedup_key": key},
            received_at=timezone.now() - ago,
        )
    return integration


def declared_once(world: World, *, incidents: int) -> None:
    """Each incident once, its alert attached once, level 1 paged once."""
    assert Incident.objects.count() == incidents
    assert not AlertEvent.objects.filter(processed_at__isnull=True).exists()
    timeline = TimelineEvent.objects.filter(incident__service=world.service)
    for kind in (
        CREATED,
        ALERT_ATTACHED,
        ESCALATED,
    ):
        assert timeline.filter(kind=kind).count() == incidents, kind
    assert EscalationStep.objects.filter(level=1).count() == incidents
    assert EscalationStep.objects.count() == incidents
    assert Delivery.objects.filter(purpose="page").count() == incidents
    assert Delivery.objects.exclude(status="sent").count() == 0
    assert world.pages() == {"responder": incidents, "lead": 0}


def the_alerts_of_three_events(world: World) -> None:
    declared_once(world, incidents=2)
    counts = dict(Alert.objects.values_list("dedup_key", "event_count"))
    assert counts == {"disk": 2, "cpu": 1}


def processing_integration(world: World) -> Case:
    integration = alert_events(world, ago=timedelta(0))
    return Case(
        ingest_process_task,
        {"integration_id": integration.pk},
        lambda results: the_alerts_of_three_events(world),
    )


def processing_a_backlog(world: World) -> Case:
    """A storm's further pass, on the backlog queue."""
    integration = alert_events(world, ago=timedelta(0))
    return Case(
        ingest_process_task,
        {"integration_id": integration.pk},
        lambda results: the_alerts_of_three_events(world),
        lane={"queue": "ingest_backlog"},
    )


def processing_with_a_poison_event(world: World) -> Case:
    """A row no worker can decode, stored between the other three."""
    integration = alert_events(world, ago=timedelta(0))
    poison = AlertEvent.objects.filter(integration=integration)[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_alertevent SET payload = %s WHERE id = %s",
            ["[" * 950 + "]" * 950, poison.pk],
        )

    def check(results: list[str]) -> None:
        declared_once(world, incidents=2)
        assert dict(Alert.objects.values_list("dedup_key", "event_count")) == {
            "disk": 1,
            "cpu": 1,
        }
        poison.refresh_from_db()
        assert (poison.status, poison.attempts) == ("failed", 1)

    return Case(ingest_process_task, {"integration_id": integration.pk}, check)


def processing_report(world: World) -> Case:
    event = AlertEvent.objects.create(
        service=world.service,
        source=AlertEvent.Source.USER_REPORT,
        action=TRIGGER,
        dedup_key=f"report-{uuid.uuid4().hex}",
        payload={"summary": "Checkout is slow", "severity": "P2"},
        reported_by=world.responder,
    )

    def check(results: list[str]) -> None:
        declared_once(world, incidents=1)
        assert sorted(results) == ["0", "1"]

    return Case(ingest_process_task, {"event_id": event.pk}, check)


def recovering_events(world: World) -> Case:
    alert_events(world, ago=timedelta(minutes=1))  # their message was lost
    return Case(
        ingest_recover_task, {}, lambda results: the_alerts_of_three_events(world)
    )


def missed_heartbeat(world: World) -> Case:
    integration, _ = integration_create(
        name="Nightly backup",
        kind="heartbeat",
        service=world.service,
        heartbeat_interval=timedelta(minutes=1),
        heartbeat_grace=timedelta(0),
    )
    Integration.objects.filter(pk=integration.pk).update(
        last_ping_at=timezone.now() - timedelta(minutes=5)
    )

    def check(results: list[str]) -> None:
        assert AlertEvent.objects.filter(source="heartbeat").count() == 1
        assert Alert.objects.filter(integration=integration).count() == 1
        declared_once(world, incidents=1)
        assert sorted(results) == ["0", "1"]

    return Case(ingest_heartbeat_check_task, {}, check)


def ended_window(world: World) -> Case:
    now = timezone.now()
    window = MaintenanceWindow.objects.create(
        service=world.service,
        starts_at=now - timedelta(hours=1),
        ends_at=now - timedelta(minutes=1),
        reason="database upgrade",
    )
    for key, status in (("disk", "triggered"), ("cpu", "resolved")):
        Alert.objects.create(
            service=world.service,
            source=AlertEvent.Source.GENERIC,
            dedup_key=key,
            summary=f"{key} alert",
            severity="P2",
            status=status,
            first_seen_at=now - timedelta(minutes=30),
            last_seen_at=now - timedelta(minutes=30),
            maintenance_window=window,
        )

    def check(results: list[str]) -> None:
        window.refresh_from_db()
        assert window.summary == (
            "2 alerts during the window, 1 still firing.\n"
            "FIRING  disk: disk alert\n"
            "resolved cpu: cpu alert"
        )
        assert sorted(results) == ["0", "1"]  # closed by one copy only
        assert not Incident.objects.exists()

    return Case(maintenance_windows_close_task, {}, check)


def missed_targets(world: World) -> Case:
    incident = declare(world.service, "P0")
    Incident.objects.filter(pk=incident.pk).update(
        detected_at=timezone.now() - timedelta(hours=2)
    )

    def check(results: list[str]) -> None:
        kinds = list(incident.timeline.values_list("kind", flat=True))
        assert kinds.count(ACK_TARGET_MISSED) == 1
        assert kinds.count(RESOLVE_TARGET_MISSED) == 1
        assert world.pages() == {"responder": 1, "lead": 0}

    return Case(incident_targets_sweep_task, {}, check)


def expired_acknowledgements(world: World) -> Case:
    """Two incidents acknowledged an hour ago, under a 30-minute timeout."""
    EscalationPolicy.objects.filter(pk=world.service.escalation_policy_id).update(
        ack_timeout=timedelta(minutes=30)
    )
    incidents = [declare(world.service, "P2", title=f"acked {i}") for i in range(2)]
    for incident in incidents:
        incident_acknowledge(incident=incident, by=world.responder)
    Incident.objects.filter(pk__in=[i.pk for i in incidents]).update(
        acknowledged_at=timezone.now() - timedelta(hours=1)
    )

    def check(results: list[str]) -> None:
        assert sum(map(int, results)) == 2
        for incident in incidents:
            incident.refresh_from_db()
            assert incident.status == Incident.Status.TRIGGERED
            restarts = incident.timeline.filter(kind=ESCALATION_RESTARTED)
            assert restarts.count() == 1
            # The declaration's page (sent or cancelled by the acknowledgement
            # as the workers raced it) and the restart's, sent.
            pages = incident.deliveries.filter(purpose="page", user=world.responder)
            assert pages.count() == 2
            assert pages.order_by("id").last().status == "sent"
        sent = Delivery.objects.filter(purpose="page", status="sent").count()
        assert world.pages() == {"responder": sent, "lead": 0}

    return Case(escalation_ack_expiry_sweep_task, {}, check)


def written_deliveries(world: World, *, due: timedelta) -> list[int]:
    """A page to the responder and a message to three channels, due `due` ago.

    Written as the product writes messages that wait longer than the broker
    is trusted with (no task message), then their time comes.
    """
    incident = declare(world.service, "P2")  # no channels yet: level 1 only
    later = timezone.now() + timedelta(hours=2)
    NotificationRule.objects.create(
        user=world.responder,
        urgency="low",
        contact_method=world.responder.contact_methods.get(),
        delay=timedelta(hours=2),
    )
    pages = page_user(incident=incident, user=world.responder, event_key="manual")
    channels = [
        Channel.objects.create(
            name=f"#c{i}",
            kind=Kind.WEBHOOK,
            address=world.receiver.url(f"/c{i}"),
            secret="k",
            service=world.service,
        )
        for i in range(3)
    ]
    told = deliveries_write(
        purpose=Delivery.Purpose.BROADCAST,
        message_kind="initial",
        event_key=f"initial:again:{incident.pk}",
        targets=[
            Target(kind=c.kind, address=c.address, channel=c, due_at=later)
            for c in channels
        ],
        incident=incident,
    )
    ids = [d.pk for d in (*pages, *told)]
    Delivery.objects.filter(pk__in=ids).update(due_at=timezone.now() - due)
    return ids


def sent_once(world: World, ids: list[int], *, attempts: int = 1) -> None:
    rows = Delivery.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", "attempts")) == {("sent", attempts)}
    assert world.pages() == {"responder": 2, "lead": 0}  # level 1, then ours
    assert {f"/c{i}": len(world.receiver.requests_to(f"/c{i}")) for i in range(3)} == {
        f"/c{i}": 1 for i in range(3)
    }
    entries = TimelineEvent.objects.filter(kind=NOTIFICATION_SENT)
    told_of = [d["delivery"] for e in entries for d in e.data["deliveries"]]
    assert sorted(told_of) == sorted(Delivery.objects.values_list("pk", flat=True))


def pending_deliveries(world: World) -> Case:
    ids = written_deliveries(world, due=timedelta(0))
    return Case(
        deliveries_send_task,
        {"delivery_ids": ids},
        lambda results: sent_once(world, ids),
    )


def pending_pages(world: World) -> Case:
    """The same, on the pages queue at a P0's priority."""
    ids = written_deliveries(world, due=timedelta(0))
    return Case(
        deliveries_send_task,
        {"delivery_ids": ids},
        lambda results: sent_once(world, ids),
        lane={"queue": "pages", "priority": 9},
    )


def late_deliveries(world: World) -> Case:
    ids = written_deliveries(world, due=timedelta(minutes=1))
    return Case(deliveries_dispatch_due_task, {}, lambda results: sent_once(world, ids))


def deliveries_left_sending(world: World) -> Case:
    """A worker died mid-batch: two rows left in `sending`, two sent but
    never told of."""
    ids = written_deliveries(world, due=timedelta(minutes=10))
    long_ago = timezone.now() - 2 * LEASE
    stuck, unreported = ids[:2], ids[2:]
    Delivery.objects.filter(pk__in=stuck).update(
        status="sending", claimed_at=long_ago, attempts=1
    )
    Delivery.objects.filter(pk__in=unreported).update(
        status="sent",
        claimed_at=long_ago,
        attempts=1,
        sent_at=long_ago,
        finished_at=long_ago,
        report_due=True,
    )

    def check(results: list[str]) -> None:
        rows = Delivery.objects.filter(pk__in=stuck)
        assert set(rows.values_list("status", "attempts")) == {("sent", 2)}
        assert all(
            notes.count("recovered") == 1
            for notes in rows.values_list("notes", flat=True)
        )
        # Both stuck rows recovered once between the two copies, whichever
        # copy claimed which (running together, each may take one).
        assert sum(map(int, results)) == 2
        sent = {f"/c{i}": len(world.receiver.requests_to(f"/c{i}")) for i in range(3)}
        # The page and #c0 were sent again; #c1 and #c2 only reported.
        assert world.pages() == {"responder": 2, "lead": 0}
        assert sent == {"/c0": 1, "/c1": 0, "/c2": 0}
        entries = TimelineEvent.objects.filter(kind=NOTIFICATION_SENT)
        told_of = [d["delivery"] for e in entries for d in e.data["deliveries"]]
        assert sorted(told_of) == sorted(Delivery.objects.values_list("pk", flat=True))

    return Case(deliveries_recover_task, {}, check)


def due_steps(world: World, count: int) -> list[Incident]:
    """Incidents paged at level 1 whose hour for an acknowledgement is over."""
    incidents = [declare(world.service, "P2", title=f"down {i}") for i in range(count)]
    Escalation.objects.filter(incident__in=incidents).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    return incidents


def climbed_once(world: World, incidents: list[Incident]) -> None:
    for incident in incidents:
        steps = EscalationStep.objects.filter(escalation__incident=incident)
        assert sorted(steps.values_list("level", flat=True)) == [1, 2]
        assert incident.timeline.filter(kind=ESCALATED).count() == 2
        assert incident.deliveries.filter(user=world.lead).count() == 1
    assert world.pages() == {"responder": len(incidents), "lead": len(incidents)}


def due_step(world: World) -> Case:
    (incident,) = due_steps(world, 1)

    def check(results: list[str]) -> None:
        climbed_once(world, [incident])
        assert sorted(results) == ["0", "1"]

    return Case(escalation_step_task, {"escalation_id": incident.escalation.pk}, check)


def due_escalations(world: World) -> Case:
    incidents = due_steps(world, 3)

    def check(results: list[str]) -> None:
        climbed_once(world, incidents)
        assert sum(map(int, results)) == 3

    return Case(escalations_sweep_task, {}, check)


def overdue_updates(world: World) -> Case:
    """Two P0s whose status update was due 20 minutes ago, past the reminder
    and its grace, with nobody in a role: level 1 (the responder) is
    reminded, then paged, once each."""
    incidents = [declare(world.service, "P0", title=f"quiet {i}") for i in range(2)]
    due = timezone.now() - timedelta(minutes=20)
    Incident.objects.filter(pk__in=[i.pk for i in incidents]).update(
        next_update_due_at=due, update_check_at=due
    )

    def check(results: list[str]) -> None:
        assert sum(map(int, results)) == 4
        for incident in incidents:
            assert UpdateReminder.objects.filter(incident=incident).count() == 2
            kinds = list(incident.timeline.values_list("kind", flat=True))
            assert kinds.count(UPDATE_REMINDER_SENT) == 1
            assert kinds.count(UPDATE_OVERDUE_PAGED) == 1
            reminders = incident.deliveries.filter(message_kind="reminder")
            assert list(reminders.values_list("status", flat=True)) == ["sent"] * 2
        # Per incident: the declaration's page, the reminder and the page.
        assert world.pages() == {"responder": 6, "lead": 0}

    return Case(update_reminders_sweep_task, {}, check)


def resolved_review(world: World) -> PostIncidentReview:
    """A P1 resolved a day ago whose initial report was due an hour ago; its
    commander (the responder) reads e-mail."""
    ContactMethodFactory(user=world.responder, address="responder@example.com")
    incident = declare(world.service, "P1")
    verify(incident)
    incident_transition(incident=incident, to="resolved", by=world.responder)
    now = timezone.now()
    PostIncidentReview.objects.update(
        owner=world.responder,
        initial_due_at=now - timedelta(hours=1),
        meeting_due_at=now + timedelta(days=6),
    )
    return PostIncidentReview.objects.get()


def due_review_reminders(world: World) -> Case:
    review = resolved_review(world)

    def check(results: list[str]) -> None:
        sent = ReviewReminder.objects.filter(review=review, sent=True)
        assert list(sent.values_list("stage", flat=True)) == ["due"]
        notices = Delivery.objects.filter(purpose="follow_up")
        assert notices.count() == 1
        assert notices.get().status == "sent"
        assert review.incident.timeline.filter(kind=PIR_REMINDED).count() == 1
        assert sorted(results) == ["0", "1"]

    return Case(review_reminders_task, {}, check)


def overdue_action_items(world: World) -> Case:
    review = resolved_review(world)
    for title in ("Add a lock timeout", "Alert on lock waits"):
        action_item_create(
            incident=review.incident,
            title=title,
            owner=world.responder,
            due_date=timezone.localdate() - timedelta(days=2),
            by=world.responder,
        )

    def check(results: list[str]) -> None:
        assert ActionItemDigest.objects.count() == 1
        notices = Delivery.objects.filter(purpose="follow_up")
        assert notices.count() == 1
        assert notices.get().extra["notice"]["subject"] == "2 overdue action items"
        assert sorted(results) == ["0", "1"]

    return Case(action_item_digests_task, {}, check)


def contact_test_due(world: World) -> Case:
    """No contact test yet this quarter: one round, one test message to each
    verified method (the responder's and the lead's webhooks)."""

    def check(results: list[str]) -> None:
        assert ContactTestRound.objects.count() == 1
        tests = Delivery.objects.filter(purpose="contact_test")
        assert list(tests.values_list("status", flat=True)) == ["sent"] * 2
        assert world.pages() == {"responder": 1, "lead": 1}
        assert sorted(results) == ["False", "True"]

    return Case(contact_tests_start_task, {}, check)


def unconfirmed_contact_tests(world: World) -> Case:
    """A round 73 hours old that nobody confirmed: each method is reminded
    once."""
    contact_test_round_start(now=timezone.now() - timedelta(hours=73))

    def check(results: list[str]) -> None:
        reminders = Delivery.objects.filter(event_key__endswith=":reminder")
        assert list(reminders.values_list("status", flat=True)) == ["sent"] * 2
        assert world.pages() == {"responder": 2, "lead": 2}
        # Racing copies may share the work; together they remind twice.
        assert sum(map(int, results)) == 2

    return Case(contact_tests_sweep_task, {}, check)


def due_drill_slot(world: World) -> Case:
    """A team's drill schedule whose slot was a minute ago: its drill is
    recorded and begins (its alert through ingest pages level 1) once."""
    schedule = drill_schedule_create(
        team=world.team, name="Monthly", frequency="monthly", time_zone="UTC"
    )
    slot = timezone.now().astimezone(UTC) - timedelta(minutes=1)
    # Today's slot, whatever the day (the services take days up to the 28th).
    DrillSchedule.objects.filter(pk=schedule.pk).update(
        day=slot.day, hour=slot.hour, minute=slot.minute
    )

    def check(results: list[str]) -> None:
        assert sorted(results) == ["0", "1"]
        drill = Drill.objects.get()
        assert (drill.state, drill.slot) == (
            "running",
            slot.replace(second=0, microsecond=0),
        )
        assert AlertEvent.objects.filter(integration__is_drill=True).count() == 1
        assert Incident.objects.filter(is_drill=True).count() == 1
        assert world.pages() == {"responder": 1, "lead": 0}

    return Case(drill_slot_fire_task, {"schedule_id": schedule.pk}, check)


def drills_to_sweep(world: World) -> Case:
    """A drill past its time box, and one whose start is due: the first is
    cancelled (timed out) once, the second begins once."""
    library = DrillScenario.objects.order_by("name")
    ended = drill_start(scenario=library[0], team=world.team)
    settle_ingest(ended)
    Drill.objects.filter(pk=ended.pk).update(ends_at=timezone.now())
    due = Drill.objects.create(
        scenario=library[1],
        team=world.team,
        service=world.service,
        due_at=timezone.now() - timedelta(minutes=1),
    )

    def check(results: list[str]) -> None:
        assert sum(map(int, results)) == 2
        ended.refresh_from_db()
        assert (ended.state, ended.incident.status) == ("timed_out", "cancelled")
        assert ended.incident.timeline.filter(data__to="cancelled").count() == 1
        due.refresh_from_db()
        assert due.state == "running"
        assert AlertEvent.objects.filter(integration__is_drill=True).count() == 2
        # Level 1 paged once per drill incident.
        assert world.pages() == {"responder": 2, "lead": 0}

    return Case(drills_sweep_task, {}, check)


def settle_ingest(drill: Drill) -> None:
    wait_until(
        lambda: AlertEvent.objects.filter(
            pk=drill.alert_event_id, incident__isnull=False
        ).exists(),
        "the drill's alert to declare its incident",
    )


def worker_heartbeats(world: World) -> Case:
    before = timezone.now()

    def check(results: list[str]) -> None:
        # One row per worker that ran a copy, each as recent as its run.
        beats = WorkerHeartbeat.objects.filter(seen_at__gte=before)
        workers = sorted({result.strip("'") for result in results})
        assert sorted(beats.values_list("worker", flat=True)) == workers
        assert WorkerHeartbeat.objects.count() == len(workers)

    return Case(worker_heartbeat_task, {}, check)


def rollup_days(world: World) -> Case:
    """Rollups built, then an incident three days old resolved late: its day
    is dirty until a refresh rebuilds it."""
    incident = declare(world.service, "P2")
    old = timezone.now() - timedelta(days=3)
    Incident.objects.filter(pk=incident.pk).update(detected_at=old, started_at=old)
    rollups_refresh(now=timezone.now())
    incident.refresh_from_db()
    incident.resolved_at = old + timedelta(hours=1)
    incident.save()

    def check(results: list[str]) -> None:
        # Every marked day the rollups hold is rebuilt (the change also
        # marked the days after it, whose incidents may repeat it; the last
        # of them is rolled up tomorrow).
        covered_until = RollupState.objects.get().covered_until
        assert not RollupDirty.objects.filter(day__lt=covered_until).exists()
        cells = RollupCell.objects.filter(day=old.date())
        assert [(c.incidents, c.unresolved) for c in cells] == [(1, 0)]

    return Case(rollups_refresh_task, {}, check)


CASES: dict[str, Callable[[World], Case]] = {
    "ingest_process_task/integration": processing_integration,
    "ingest_process_task/backlog": processing_a_backlog,
    "ingest_process_task/report": processing_report,
    "ingest_process_task/poison": processing_with_a_poison_event,
    "ingest_recover_task": recovering_events,
    "ingest_heartbeat_check_task": missed_heartbeat,
    "maintenance_windows_close_task": ended_window,
    "incident_targets_sweep_task": missed_targets,
    "escalation_ack_expiry_sweep_task": expired_acknowledgements,
    "deliveries_send_task": pending_deliveries,
    "deliveries_send_task/pages": pending_pages,
    "deliveries_dispatch_due_task": late_deliveries,
    "deliveries_recover_task": deliveries_left_sending,
    "escalation_step_task": due_step,
    "escalations_sweep_task": due_escalations,
    "update_reminders_sweep_task": overdue_updates,
    "review_reminders_task": due_review_reminders,
    "action_item_digests_task": overdue_action_items,
    "worker_heartbeat_task": worker_heartbeats,
    "contact_tests_start_task": contact_test_due,
    "contact_tests_sweep_task": unconfirmed_contact_tests,
    "drill_slot_fire_task": due_drill_slot,
    "drills_sweep_task": drills_to_sweep,
    "rollups_refresh_task": rollup_days,
}


def test_every_task_type_has_a_redelivery_case() -> None:
    app.loader.import_default_modules()
    registered = {
        name.rsplit(".", 1)[-1] for name in app.tasks if not name.startswith("celery.")
    }
    assert registered == {name.split("/")[0] for name in CASES}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
def test_a_message_delivered_twice_does_its_work_once(
    world: World, pair: list[Process], name: str, mode: str
) -> None:
    case = CASES[name](world)
    assert case.task.name.endswith(name.split("/")[0])
    lines = deliver_twice(pair, case.task, case.kwargs, mode, case.lane)
    assert all("succeeded in" in line for line in lines), lines
    case.check([line.split("s: ", 1)[1] for line in lines])  # what each returned
