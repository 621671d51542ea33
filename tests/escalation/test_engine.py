"""The escalation engine in frozen time: who is paged, when, and only once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from escalation.models import (
    Escalation,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
)
from escalation.services import (
    escalation_fire_due,
    escalations_sweep,
)
from escalation.tasks import escalation_step_task, escalations_sweep_task
from escalation.timeline_kinds import (
    ESCALATED,
    ESCALATION_RESTARTED,
    ESCALATION_SKIPPED,
    ESCALATION_STOPPED,
)
from incidents.models import Incident, Service
from incidents.services import incident_acknowledge, incident_transition
from tests.concurrency import in_threads
from tests.escalation.conftest import START, add_level, paged, reachable, user_target
from tests.factories import MembershipFactory, declare, verify

S = Incident.Status


def steps(incident: Incident) -> list[tuple[int | None, str, str]]:
    return list(
        EscalationStep.objects.filter(escalation__incident=incident)
        .order_by("fired_at", "id")
        .values_list("level", "outcome", "cause")
    )


def at_minute(clock: time_machine.Coordinates, minute: float) -> int:
    clock.move_to(START + timedelta(minutes=minute))
    return escalations_sweep()


def test_unacknowledged_p0_climbs_every_level_at_the_ack_target_minutes(
    sop_policy, service, clock
):
    incident = declare(service, "P0")
    # Declaration: L1, and L2 and L4, which page at declaration for P0.
    assert sorted(paged(incident)) == ["lead", "manager", "responder"]
    assert at_minute(clock, 14.9) == 0
    assert at_minute(clock, 15) == 1  # P0: ack target 15 min
    assert paged(incident)[-1] == "lead"
    assert at_minute(clock, 29.9) == 0
    assert at_minute(clock, 30) == 1
    assert paged(incident)[-1] == "commander"
    assert at_minute(clock, 45) == 1
    assert paged(incident)[-1] == "manager"
    assert at_minute(clock, 600) == 0
    assert [s[0] for s in steps(incident)] == [1, 2, 4, 2, 3, 4]
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.state == Escalation.State.EXHAUSTED
    fired = EscalationStep.objects.filter(escalation=escalation, cause="escalation")
    assert [s.fired_at - START for s in fired] == [
        timedelta(minutes=m) for m in (0, 15, 30, 45)
    ]


def test_p2_climbs_to_the_commander_and_never_reaches_management(
    sop_policy, service, clock
):
    incident = declare(service, "P2")
    assert paged(incident) == ["responder"]  # nobody else at declaration
    for hours in (4, 8, 12):
        assert at_minute(clock, hours * 60) == 1
    assert paged(incident) == ["responder", "lead", "commander"]
    assert steps(incident)[-1] == (4, "not_for_severity", "escalation")
    assert "manager" not in paged(incident)
    assert incident.timeline.filter(
        kind=ESCALATION_SKIPPED,
        message__contains="L4 (Management) skipped",
    ).exists()


def test_acknowledging_at_minute_three_stops_everything(
    sop_policy, service, responder, clock
):
    incident = declare(service, "P0")
    before = paged(incident)
    clock.move_to(START + timedelta(minutes=3))
    incident_acknowledge(incident=incident, by=responder)
    for minute in (15, 30, 45, 120):
        assert at_minute(clock, minute) == 0
    assert paged(incident) == before
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.state, escalation.due_at) == ("stopped", None)
    stopped = incident.timeline.get(kind=ESCALATION_STOPPED)
    assert stopped.message == "Escalation stopped: acknowledged by responder"


@pytest.mark.parametrize("to", [S.RESOLVED, S.CANCELLED, S.INVESTIGATING])
def test_resolving_cancelling_or_working_on_it_stops_the_climb(
    sop_policy, service, responder, clock, to
):
    incident = verify(declare(service, "P1"))
    incident_transition(incident=incident, to=to, by=responder, reason="done")
    assert at_minute(clock, 60) == 0
    assert Escalation.objects.get(incident=incident).state == "stopped"


def test_un_acknowledging_restarts_from_the_first_level(
    sop_policy, service, responder, clock
):
    incident = declare(service, "P2")
    at_minute(clock, 4 * 60)  # L2 paged
    incident_acknowledge(incident=incident, by=responder)
    clock.move_to(START + timedelta(hours=5))
    incident_transition(incident=incident, to=S.TRIGGERED, by=responder)
    assert paged(incident) == ["responder", "lead", "responder"]
    assert at_minute(clock, 9 * 60) == 1
    assert paged(incident)[-1] == "lead"
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.run, escalation.level) == (2, 2)
    assert incident.timeline.filter(kind=ESCALATION_RESTARTED).count() == 1


def test_the_policy_repeats_as_often_as_it_says(sop_policy, service, clock):
    sop_policy.repeat = 1
    sop_policy.save()
    incident = declare(service, "P1")
    for hour in range(1, 10):
        at_minute(clock, 60 * hour)
    # Each of L1-L3 twice (L4 is P0 only), and L2 once more at declaration.
    assert paged(incident) == [
        *("responder", "lead", "lead", "commander"),
        *("responder", "lead", "commander"),
    ]
    assert Escalation.objects.get(incident=incident).state == "exhausted"
    assert EscalationStep.objects.filter(repeat=1, outcome="paged").count() == 3


def test_an_empty_level_is_recorded_and_skipped_at_once(
    sop_policy, service, commander, clock
):
    User.objects.get(username="lead").contact_methods.all().delete()
    incident = declare(service, "P2")
    at_minute(clock, 4 * 60)
    # L2's only target cannot be reached: skipped, and L3 paged at once.
    assert paged(incident) == ["responder", "commander"]
    skipped = incident.timeline.get(kind=ESCALATION_SKIPPED, message__startswith="L2")
    assert "lead has no verified contact method" in skipped.message
    assert steps(incident)[1:3] == [
        (2, "empty", "escalation"),
        (3, "paged", "escalation"),
    ]


def test_a_level_whose_schedule_has_nobody_on_call_is_skipped_not_silent(
    sop_policy, service, team, clock
):
    from escalation.models import EscalationLevel, EscalationTarget, Schedule

    gap = Schedule.objects.create(name="Nights", team=team, time_zone="UTC")
    level = EscalationLevel.objects.get(policy=sop_policy, position=1)
    level.targets.all().delete()
    EscalationTarget.objects.create(level=level, kind="schedule", schedule=gap)
    incident = declare(service, "P2")
    assert paged(incident) == ["lead"]
    message = incident.timeline.get(
        kind=ESCALATION_SKIPPED, message__startswith="L1"
    ).message
    assert "schedule Nights has nobody" in message


def test_a_service_without_a_policy_records_that_nobody_is_paged(service, clock):
    incident = declare(service, "P0")
    assert paged(incident) == []
    assert incident.escalation.state == Escalation.State.NO_POLICY
    assert incident.timeline.get(kind=ESCALATION_SKIPPED).message == (
        "Service Website has no escalation policy: nobody is paged"
    )


def test_a_new_alert_on_the_incident_re_notifies_the_current_level(
    sop_policy, service, clock
):
    from escalation.services import escalation_renotify
    from incidents.models import Alert

    incident = declare(service, "P2")
    at_minute(clock, 4 * 60)
    alert = Alert.objects.create(
        service=service,
        incident=incident,
        source="api",
        summary="disk full",
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    escalation_renotify(incident=incident, alert=alert)
    escalation_renotify(incident=incident, alert=alert)  # the same alert again
    assert paged(incident) == ["responder", "lead", "lead"]
    assert steps(incident)[-1] == (2, "paged", "renotify")


def test_a_wait_longer_than_the_eta_horizon_is_left_to_the_sweep(
    sop_policy, service, clock, settings, django_capture_on_commit_callbacks
):
    settings.VIGIL_ESCALATION_ETA_MAX_SECONDS = 600
    sent: list[dict[str, object]] = []

    def record(*, kwargs: dict[str, object], eta: datetime) -> None:
        sent.append({**kwargs, "eta": eta})

    escalation_step_task.apply_async = record  # type: ignore[method-assign]
    try:
        with django_capture_on_commit_callbacks(execute=True):
            declare(service, "P0")  # next step in 15 min: beyond 10 min
        sop_policy.levels.update(delay=timedelta(minutes=5))
        with django_capture_on_commit_callbacks(execute=True):
            incident = declare(service, "P0", title="second")
    finally:
        del escalation_step_task.apply_async
    escalation = Escalation.objects.get(incident=incident)
    assert sent == [{"escalation_id": escalation.pk, "eta": escalation.due_at}]
    assert escalation.due_at == START + timedelta(minutes=5)


# Exactly once -----------------------------------------------------------------


def test_the_step_task_delivered_twice_fires_the_level_once(sop_policy, service, clock):
    incident = declare(service, "P1")
    escalation = Escalation.objects.get(incident=incident)
    clock.move_to(START + timedelta(hours=1))
    assert escalation_step_task(escalation_id=escalation.pk) == 1
    assert escalation_step_task(escalation_id=escalation.pk) == 0
    assert escalations_sweep_task() == 0
    assert paged(incident) == ["responder", "lead", "lead"]


def test_a_step_task_that_comes_early_or_for_a_stopped_escalation_does_nothing(
    sop_policy, service, responder, clock
):
    incident = declare(service, "P1")
    escalation = Escalation.objects.get(incident=incident)
    assert escalation_step_task(escalation_id=escalation.pk) == 0  # not yet due
    incident_acknowledge(incident=incident, by=responder)
    clock.move_to(START + timedelta(hours=2))
    assert escalation_step_task(escalation_id=escalation.pk) == 0
    assert escalation_step_task(escalation_id=987654) == 0  # deleted since
    assert paged(incident) == ["responder", "lead"]


def test_a_crash_between_claiming_and_paging_leaves_the_step_to_fire_later(
    sop_policy, service, clock, monkeypatch
):
    incident = declare(service, "P1")
    clock.move_to(START + timedelta(hours=1))

    def crash(**kwargs: object) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr("escalation.services.levels.page_users", crash)
    with pytest.raises(RuntimeError):
        escalation_fire_due(escalation_id=incident.escalation.pk)
    monkeypatch.undo()
    assert EscalationStep.objects.filter(level=2, cause="escalation").count() == 0
    assert escalations_sweep() == 1
    assert escalations_sweep() == 0
    assert paged(incident) == ["responder", "lead", "lead"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweeps_racing_on_postgresql_fire_each_level_once(team, responder, caplog):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this tests; SQLite runs one writer")
    from escalation.models import EscalationPolicy as Policy

    policy = Policy.objects.create(name="Race", team=team)
    add_level(
        policy,
        1,
        "first",
        user_target(reachable(responder)),
        delay=timedelta(seconds=1),
    )
    lead = reachable(MembershipFactory(team=team, user__username="second").user)
    add_level(policy, 2, "second", user_target(lead))
    service = Service.objects.create(
        name="Racing", slug="racing", team=team, escalation_policy=policy
    )
    incidents = [declare(service, "P1", title=f"race {i}") for i in range(20)]
    later = timezone.now() + timedelta(seconds=5)
    assert in_threads(4, lambda n: escalations_sweep(now=later)) == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
    for incident in incidents:
        assert paged(incident) == ["responder", "second"]
    assert EscalationStep.objects.filter(level=2).count() == 20


def test_an_escalation_is_started_once_however_often_it_is_asked(
    sop_policy, service, clock
):
    from escalation.services import escalation_start

    incident = declare(service, "P1")
    again = escalation_start(incident=incident)
    assert again.pk == incident.escalation.pk
    assert paged(incident) == ["responder", "lead"]


def test_every_step_records_when_it_was_due_and_how_late_it_fired(
    sop_policy, service, clock
):
    incident = declare(service, "P1")
    clock.move_to(START + timedelta(hours=1, seconds=7))  # the sweep was late
    escalations_sweep()
    step = EscalationStep.objects.get(level=2, cause="escalation")
    assert step.due_at == START + timedelta(hours=1)
    assert step.lateness == timedelta(seconds=7)
    entry = incident.timeline.filter(kind=ESCALATED).last()
    assert entry is not None
    assert entry.data["lateness_seconds"] == 7.0
    # The next level waits its full delay from when this one really fired.
    escalation = Escalation.objects.get(incident=incident)
    assert escalation.due_at == START + timedelta(hours=2, seconds=7)


def test_levels_read_as_the_sop_names_them(sop_policy: EscalationPolicy) -> None:
    assert [str(level) for level in sop_policy.levels.all()] == [
        "L1 On-call engineer",
        "L2 Team lead",
        "L3 Incident commander",
        "L4 Management",
    ]


def test_raising_to_p0_pages_what_a_p0_pages_at_declaration_once(
    sop_policy, service, responder, clock
):
    from incidents.models import SeverityLevel
    from incidents.services import incident_change_severity

    incident = declare(service, "P2")
    at_minute(clock, 4 * 60)  # L2 reached by the climb
    p0 = SeverityLevel.objects.get(code="P0")
    incident_change_severity(incident=incident, severity=p0, by=responder)
    # Management (P0 only, paged at declaration) now; the lead not again.
    assert paged(incident) == ["responder", "lead", "manager"]
    entry = incident.timeline.filter(kind=ESCALATED).last()
    assert entry is not None
    assert entry.message.startswith("Paged at declaration of this severity, L4")
    p1 = SeverityLevel.objects.get(code="P1")
    incident_change_severity(incident=incident, severity=p1, by=responder)
    incident_change_severity(incident=incident, severity=p0, by=responder)
    assert paged(incident) == ["responder", "lead", "manager"]


def test_a_level_reached_at_once_is_not_paged_again_for_the_declaration(
    sop_policy, service, responder, clock
):
    responder.contact_methods.all().delete()  # level 1 reaches nobody
    incident = declare(service, "P1")
    # The climb hands on to L2 at once; its declaration page is not sent twice.
    assert paged(incident) == ["lead"]
    assert steps(incident) == [(1, "empty", "escalation"), (2, "paged", "escalation")]


def test_one_person_on_two_levels_paged_at_declaration_gets_one_page(
    sop_policy, service, responder, clock
):
    lead_level = sop_policy.levels.get(position=2)
    EscalationTarget.objects.create(level=lead_level, **user_target(responder))

    incident = declare(service, "P0")

    # L1 and L2 both page at a P0's declaration; the responder is on both.
    assert paged(incident) == ["responder", "lead", "manager"]
    assert steps(incident)[:2] == [
        (1, "paged", "escalation"),
        (2, "paged", "declaration"),
    ]
    entry = incident.timeline.filter(
        kind=ESCALATED, message__contains="L2 (Team lead)"
    ).get()
    assert entry.message == (
        "Paged at declaration of this severity, L2 (Team lead): "
        "paged lead; responder already paged, not paged twice"
    )


def test_an_escalation_whose_policy_was_deleted_ends_and_leaves_the_sweep(
    sop_policy, service, clock
):
    incident = declare(service, "P1")
    service.escalation_policy = None
    service.save()
    sop_policy.delete()
    assert at_minute(clock, 60) == 0
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.state, escalation.due_at) == ("exhausted", None)
    assert incident.timeline.filter(
        kind=ESCALATION_STOPPED,
        message__contains="its policy was deleted",
    ).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_step_whose_incident_is_being_changed_is_left_to_the_next_sweep(
    sop_policy, service
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this tests; SQLite runs one writer")
    import psycopg

    incident = declare(service, "P1")
    escalation = Escalation.objects.get(incident=incident)
    later = timezone.now() + timedelta(hours=1, seconds=1)
    settings = connection.settings_dict
    other = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
    )
    with connection.cursor() as cursor:  # waiting on the lock fails the test
        cursor.execute("SET lock_timeout = '2s'")
    try:
        with other.transaction():  # someone acknowledging it, say
            other.execute(
                "SELECT id FROM incidents_incident WHERE id = %s FOR UPDATE",
                [incident.pk],
            )
            assert escalation_fire_due(escalation_id=escalation.pk, now=later) == 0
    finally:
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert escalation_fire_due(escalation_id=escalation.pk, now=later) == 1
    assert paged(incident) == ["responder", "lead", "lead"]
