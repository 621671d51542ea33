"""The status update cadence clock, in frozen time.

A P0 owes an update every 30 minutes: with none posted, the Communications
Lead is reminded at +30 and the incident commander and team lead are paged
at +45 (the 15-minute grace), each once, however often the sweep runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from escalation.models import EscalationPolicy, UpdateReminder
from escalation.services import update_reminder_fire, update_reminders_sweep
from escalation.timeline_kinds import UPDATE_OVERDUE_PAGED, UPDATE_REMINDER_SENT
from incidents.models import (
    Incident,
    IncidentRole,
    Service,
    SeverityLevel,
)
from incidents.services import incident_assign_role, incident_transition
from incidents.services.status_updates import (
    status_update_post,
    update_reminders_snooze,
)
from incidents.timeline_kinds import UPDATE_REMINDERS_SNOOZED
from notifications.models import Delivery
from notifications.services.messages import message_render
from tests.escalation.conftest import add_level, reachable, user_target
from tests.factories import MembershipFactory, declare, verify

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def sweep_at(clock: time_machine.Traveller, minutes: float) -> int:
    clock.move_to(T0 + timedelta(minutes=minutes))
    return update_reminders_sweep()


def reminded(incident: Incident, stage: str = "") -> list[str]:
    """Usernames reminded (stage remind) or paged (stage page), by delivery."""
    rows = Delivery.objects.filter(incident=incident, message_kind="reminder")
    if stage:
        rows = rows.filter(extra__reminder__stage=stage)
    return sorted(rows.values_list("user__username", flat=True))


@pytest.fixture
def crew(service: Service, responder: User, team_lead: User) -> dict[str, User]:
    comms = MembershipFactory(team=service.team, user__username="comms").user
    for user in (responder, team_lead, comms):
        reachable(user)
    return {"ic": responder, "lead": team_lead, "comms": comms}


def staffed(service: Service, crew: dict[str, User], severity: str = "P0") -> Incident:
    incident = declare(service, severity, by=crew["ic"])
    for role, user in (
        (IncidentRole.INCIDENT_COMMANDER, crew["ic"]),
        (IncidentRole.COMMUNICATIONS_LEAD, crew["comms"]),
    ):
        incident_assign_role(incident=incident, role=role, user=user, by=crew["ic"])
    return incident


def test_a_p0_without_update_reminds_once_then_pages_once(clock, service, crew):
    incident = staffed(service, crew)
    incident.refresh_from_db()
    assert incident.next_update_due_at == T0 + timedelta(minutes=30)

    assert sweep_at(clock, 29) == 0
    assert sweep_at(clock, 30) == 1
    assert [sweep_at(clock, 30), sweep_at(clock, 31), sweep_at(clock, 44)] == [0, 0, 0]
    assert reminded(incident) == ["comms"]
    assert sweep_at(clock, 45) == 1
    assert [sweep_at(clock, 45), sweep_at(clock, 50), sweep_at(clock, 59)] == [0, 0, 0]

    assert reminded(incident, "remind") == ["comms"]
    assert reminded(incident, "page") == ["lead", "responder"]
    kinds = list(incident.timeline.values_list("kind", flat=True))
    assert kinds.count(UPDATE_REMINDER_SENT) == 1
    assert kinds.count(UPDATE_OVERDUE_PAGED) == 1


def test_a_racing_sweep_that_read_the_incident_late_reminds_nobody(
    clock, service, crew
):
    incident = staffed(service, crew)
    clock.move_to(T0 + timedelta(minutes=46))
    assert update_reminder_fire(incident_id=incident.pk) == 2
    # A second sweep read the incident before the first moved its clock on.
    Incident.objects.filter(pk=incident.pk).update(update_check_at=T0)

    assert update_reminder_fire(incident_id=incident.pk) == 0
    assert update_reminders_sweep() == 0
    assert UpdateReminder.objects.filter(incident=incident).count() == 2
    assert len(reminded(incident)) == 3


def test_an_update_still_missing_a_cadence_later_is_reminded_again(
    clock, service, crew
):
    incident = staffed(service, crew)
    for minutes in (30, 45, 59):
        sweep_at(clock, minutes)

    assert sweep_at(clock, 60) == 1
    assert sweep_at(clock, 75) == 1
    assert reminded(incident, "remind") == ["comms", "comms"]


def test_posting_an_update_restarts_the_clock(clock, service, crew):
    incident = staffed(service, crew)
    clock.move_to(T0 + timedelta(minutes=20))
    update = status_update_post(incident=incident, actor=crew["comms"], text="Found it")

    assert update.next_update_due_at == T0 + timedelta(minutes=50)
    assert sweep_at(clock, 30) == 0
    assert sweep_at(clock, 49) == 0
    assert sweep_at(clock, 50) == 1


def test_a_p3_is_never_reminded(clock, service, crew):
    incident = staffed(service, crew, "P3")

    assert incident.next_update_due_at is None
    assert [sweep_at(clock, m) for m in (30, 60 * 24, 60 * 24 * 30)] == [0, 0, 0]
    assert reminded(incident) == []


def test_an_edited_cadence_is_followed(clock, service, crew):
    SeverityLevel.objects.filter(code="P3").update(update_cadence=timedelta(minutes=10))
    incident = staffed(service, crew, "P3")

    assert sweep_at(clock, 10) == 1
    assert reminded(incident) == ["comms"]


@pytest.mark.parametrize("status", ["resolved", "cancelled"])
def test_resolving_or_cancelling_stops_the_clock(clock, service, crew, status):
    incident = staffed(service, crew)
    clock.move_to(T0 + timedelta(minutes=10))
    verify(incident)
    incident_transition(incident=incident, to=status, by=crew["ic"], reason="done")

    assert [sweep_at(clock, m) for m in (30, 45, 120)] == [0, 0, 0]
    assert reminded(incident) == []


def test_a_snooze_holds_the_reminders_and_says_why(clock, service, crew):
    incident = staffed(service, crew)
    clock.move_to(T0 + timedelta(minutes=25))
    update_reminders_snooze(
        incident=incident,
        by=crew["ic"],
        until=T0 + timedelta(minutes=40),
        reason="waiting for the vendor's answer",
    )

    assert sweep_at(clock, 30) == 0
    assert sweep_at(clock, 40) == 1
    assert sweep_at(clock, 54) == 0
    assert sweep_at(clock, 55) == 1
    snoozed = incident.timeline.get(kind=UPDATE_REMINDERS_SNOOZED)
    assert "waiting for the vendor's answer" in snoozed.message
    assert snoozed.actor == crew["ic"]


def test_without_a_communications_lead_the_commander_is_reminded(clock, service, crew):
    incident = declare(service, "P0", by=crew["ic"])
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=crew["ic"],
        by=crew["ic"],
    )
    sweep_at(clock, 30)

    assert reminded(incident, "remind") == ["responder"]


def test_without_roles_the_escalations_current_level_is_reminded(clock, service, crew):
    policy = EscalationPolicy.objects.create(name="On call", team=service.team)
    add_level(policy, 1, "First", user_target(crew["comms"]))
    service.escalation_policy = policy
    service.save()
    incident = declare(service, "P0")
    sweep_at(clock, 30)

    assert reminded(incident, "remind") == ["comms"]
    # The page goes to the team lead, the only one of its people there is.
    sweep_at(clock, 45)
    assert reminded(incident, "page") == ["lead"]


def test_a_drills_reminders_say_drill(clock, service, crew):
    incident = declare(service, "P0", by=crew["ic"], is_drill=True)
    incident_assign_role(
        incident=incident,
        role=IncidentRole.COMMUNICATIONS_LEAD,
        user=crew["comms"],
        by=crew["ic"],
    )
    sweep_at(clock, 30)

    delivery = Delivery.objects.get(incident=incident, message_kind="reminder")
    message = message_render(delivery, now=T0)
    assert message.subject.startswith("[DRILL]")
    assert message.text.startswith("[DRILL]")
    event = incident.timeline.get(kind=UPDATE_REMINDER_SENT)
    assert event.message.startswith("[DRILL]")
