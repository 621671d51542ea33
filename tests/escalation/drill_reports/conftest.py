"""Drill report fixtures: a scripted drill in frozen time.

P0 "Site down" drill on Platform's `service`, declared at T0 (12:00 UTC) by
the team lead. Policy: L1 "On call" pages alice and bob (each reached by a
webhook to the local `hook`: alice's answers 200, bob's 404), and after 10
minutes L2 "Backup" pages carol.

- +10 min: L2 pages carol; +12 carol acknowledges; +14 alice adds a note;
  bob never responds.
- +25 the lead names carol incident commander (the target is 15 min).
- +28 a status update is posted; the one due at +58 is missed.
- +70 carol resolves (the target is 1 h).

`cancelled_drill`: a P1 "Database failure" drill 30 days earlier that
nobody answered, cancelled when its 90-minute time box ran out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from escalation.models import EscalationPolicy
from escalation.services import escalations_sweep
from incidents.models import Incident, IncidentRole, Service
from incidents.services import (
    incident_acknowledge,
    incident_add_note,
    incident_assign_role,
    incident_transition,
)
from incidents.services.status_updates import status_update_post
from notifications.services import delivery_send
from tests.escalation.conftest import add_level, member, user_target
from tests.factories import declare, verify, webhook_contact
from tests.notifications.servers import Answer, HTTPReceiver

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def hook(settings) -> Iterator[HTTPReceiver]:
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["127.0.0.1/32"]
    receiver = HTTPReceiver("127.0.0.1").start()
    receiver.answer("/alice", Answer(200, "ok"))
    receiver.answer("/bob", Answer(404, "no such hook"))
    receiver.answer("/carol", Answer(200, "ok"))
    yield receiver
    receiver.stop()


@pytest.fixture
def drill_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def crew(service: Service, team_lead: User, hook: HTTPReceiver) -> dict[str, User]:
    people = {name: member(service.team, name) for name in ("alice", "bob", "carol")}
    for name, user in people.items():
        webhook_contact(user, hook.url(f"/{name}"))
    policy = EscalationPolicy.objects.create(name="Drill policy", team=service.team)
    on_call = [user_target(people["alice"]), user_target(people["bob"])]
    add_level(policy, 1, "On call", *on_call, delay=timedelta(minutes=10))
    add_level(policy, 2, "Backup", user_target(people["carol"]))
    service.escalation_policy = policy
    service.save()
    return {**people, "lead": team_lead}


def send_pages(incident: Incident) -> None:
    for delivery in incident.deliveries.filter(status="pending", purpose="page"):
        delivery_send(delivery_id=delivery.pk)


@pytest.fixture
def scripted_drill(
    drill_clock: time_machine.Traveller, service: Service, crew: dict[str, User]
) -> Incident:
    """Run the drill of the module docstring; return it, resolved at +70."""

    def at(minutes: float) -> None:
        drill_clock.move_to(T0 + timedelta(minutes=minutes))

    drill = declare(service, "P0", title="Site down", by=crew["lead"], is_drill=True)
    send_pages(drill)
    at(10)
    escalations_sweep()
    send_pages(drill)
    at(12)
    incident_acknowledge(incident=drill, by=crew["carol"])
    at(14)
    incident_add_note(
        incident=drill, text="Looking at the load balancer", by=crew["alice"]
    )
    at(25)
    incident_assign_role(
        incident=drill,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=crew["carol"],
        by=crew["lead"],
    )
    at(28)
    status_update_post(incident=drill, text="Failing over", actor=crew["carol"])
    at(70)
    verify(drill, by=crew["carol"])
    incident_transition(incident=drill, to=Incident.Status.RESOLVED, by=crew["carol"])
    drill.refresh_from_db()
    return drill


@pytest.fixture
def cancelled_drill(service: Service, crew: dict[str, User]) -> Incident:
    start = T0 - timedelta(days=30)
    with time_machine.travel(start, tick=False) as traveller:
        drill = declare(
            service, "P1", title="Database failure", by=crew["lead"], is_drill=True
        )
        traveller.move_to(start + timedelta(minutes=90))
        incident_transition(
            incident=drill,
            to=Incident.Status.CANCELLED,
            by=None,
            reason="Time box ran out",
        )
    drill.refresh_from_db()
    return drill
