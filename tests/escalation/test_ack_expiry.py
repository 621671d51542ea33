"""Acknowledgements that expire (where a policy sets ack_timeout), in frozen
time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from escalation.models import Escalation, EscalationPolicy
from escalation.services import escalation_expire_acknowledgements
from escalation.tasks import escalation_ack_expiry_sweep_task
from escalation.timeline_kinds import ESCALATION_RESTARTED
from incidents.models import Incident, Service
from incidents.services import incident_acknowledge, incident_transition
from incidents.timeline_kinds import STATUS_CHANGED
from tests.concurrency import in_threads
from tests.escalation.conftest import START, add_level, paged, reachable, user_target
from tests.factories import declare

S = Incident.Status


@pytest.fixture
def half_hour(sop_policy: EscalationPolicy) -> EscalationPolicy:
    """The SOP policy, its acknowledgements holding for 30 minutes."""
    sop_policy.ack_timeout = timedelta(minutes=30)
    sop_policy.save()
    return sop_policy


def sweep_at(clock: time_machine.Coordinates, minute: float) -> int:
    clock.move_to(START + timedelta(minutes=minute))
    return int(escalation_ack_expiry_sweep_task())


def test_an_acknowledgement_nobody_acts_on_expires_and_paging_starts_again(
    half_hour, service, responder, clock
):
    incident = declare(service, "P2")
    clock.move_to(START + timedelta(minutes=3))
    incident_acknowledge(incident=incident, by=responder)
    assert sweep_at(clock, 32.9) == 0
    assert sweep_at(clock, 33) == 1
    incident.refresh_from_db()
    assert (incident.status, incident.acknowledged_at) == (S.TRIGGERED, None)
    expired = incident.timeline.get(kind=STATUS_CHANGED)
    assert expired.message == (
        "Status: Acknowledged → Triggered — the acknowledgement expired after "
        "30 min with the incident still only acknowledged"
    )
    assert (expired.actor, expired.via) == (None, "system")
    assert incident.timeline.filter(kind=ESCALATION_RESTARTED).count() == 1
    # Level 1 paged again at once, and the climb goes on from there.
    assert paged(incident) == ["responder", "responder"]
    escalation = Escalation.objects.get(incident=incident)
    assert (escalation.state, escalation.run, escalation.level) == ("active", 2, 1)
    assert sweep_at(clock, 34) == 0
    assert paged(incident) == ["responder", "responder"]


def test_acknowledging_again_starts_a_new_wait(half_hour, service, responder, clock):
    incident = declare(service, "P2")
    incident_acknowledge(incident=incident, by=responder)
    assert sweep_at(clock, 30) == 1
    clock.move_to(START + timedelta(minutes=40))
    incident_acknowledge(incident=incident, by=responder)
    assert sweep_at(clock, 69.9) == 0
    assert sweep_at(clock, 70) == 1
    assert paged(incident) == ["responder"] * 3


@pytest.mark.parametrize("to", [S.INVESTIGATING, S.RESOLVED])
def test_working_on_the_incident_keeps_it_off_the_pagers(
    half_hour, service, responder, clock, to
):
    incident = declare(service, "P2")
    incident_acknowledge(incident=incident, by=responder)
    clock.move_to(START + timedelta(minutes=10))
    incident_transition(incident=incident, to=to, by=responder, reason="on it")
    assert sweep_at(clock, 600) == 0
    incident.refresh_from_db()
    assert incident.status == to
    assert paged(incident) == ["responder"]


def test_without_a_timeout_an_acknowledgement_holds(
    sop_policy, service, responder, clock
):
    incident = declare(service, "P2")
    incident_acknowledge(incident=incident, by=responder)
    assert sweep_at(clock, 7 * 24 * 60) == 0
    incident.refresh_from_db()
    assert incident.status == S.ACKNOWLEDGED


def test_the_policy_the_incident_climbs_sets_the_timeout(
    half_hour, service, team, responder, clock
):
    """A service given another policy later does not change open incidents."""
    incident = declare(service, "P2")
    incident_acknowledge(incident=incident, by=responder)
    service.escalation_policy = EscalationPolicy.objects.create(
        name="Patient", team=team, ack_timeout=timedelta(days=1)
    )
    service.save()
    assert sweep_at(clock, 30) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweeps_racing_on_postgresql_expire_each_acknowledgement_once(team, responder):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are what this tests; SQLite runs one writer")
    policy = EscalationPolicy.objects.create(
        name="Race", team=team, ack_timeout=timedelta(minutes=1)
    )
    add_level(policy, 1, "first", user_target(reachable(responder)))
    service = Service.objects.create(
        name="Racing", slug="racing", team=team, escalation_policy=policy
    )
    incidents = [declare(service, "P1", title=f"race {i}") for i in range(20)]
    for incident in incidents:
        incident_acknowledge(incident=incident, by=responder)
    later = timezone.now() + timedelta(minutes=2)
    expired: list[int] = []
    sweep = escalation_expire_acknowledgements
    assert in_threads(4, lambda n: expired.append(sweep(now=later))) == []
    assert sum(expired) == 20
    for incident in incidents:
        assert paged(incident) == ["responder", "responder"]
        assert incident.timeline.filter(kind=ESCALATION_RESTARTED).count() == 1
