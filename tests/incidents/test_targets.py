from __future__ import annotations

from datetime import timedelta

import time_machine

from incidents.models import Incident
from incidents.services import incident_acknowledge, incident_transition
from incidents.tasks import incident_targets_sweep_task
from incidents.timeline_kinds import ACK_TARGET_MISSED, RESOLVE_TARGET_MISSED
from tests.factories import declare, verify

T0 = "2026-04-01 08:00:00+00:00"


def missed(incident: Incident) -> list[tuple[str, object]]:
    return list(
        incident.timeline.filter(
            kind__in=[
                ACK_TARGET_MISSED,
                RESOLVE_TARGET_MISSED,
            ]
        ).values_list("kind", "at")
    )


def test_p0_unacknowledged_past_fifteen_minutes_misses_its_ack_target(service):
    with time_machine.travel(T0, tick=False):
        incident = declare(service, "P0")
    with time_machine.travel(
        incident.detected_at + timedelta(minutes=14, seconds=59), tick=False
    ):
        assert incident_targets_sweep_task() == 0
    with time_machine.travel(incident.detected_at + timedelta(minutes=16), tick=False):
        assert incident_targets_sweep_task() == 1

    ((kind, at),) = missed(incident)
    assert kind == ACK_TARGET_MISSED
    assert at == incident.detected_at + timedelta(minutes=15)
    assert "15 min" in incident.timeline.get(kind=kind).message


def test_running_the_sweep_again_records_nothing_more(service):
    with time_machine.travel(T0, tick=False):
        incident = declare(service, "P0")
    with time_machine.travel(incident.detected_at + timedelta(hours=2), tick=False):
        assert incident_targets_sweep_task() == 2
        assert incident_targets_sweep_task() == 0
    assert len(missed(incident)) == 2


def test_acknowledged_in_time_misses_nothing_but_the_resolve_target(service, responder):
    with time_machine.travel(T0, tick=False):
        incident = declare(service, "P0")
    with time_machine.travel(incident.detected_at + timedelta(minutes=5), tick=False):
        incident_acknowledge(incident=incident, by=responder)
    with time_machine.travel(incident.detected_at + timedelta(minutes=61), tick=False):
        incident_targets_sweep_task()
    assert [kind for kind, _ in missed(incident)] == [RESOLVE_TARGET_MISSED]


def test_resolved_incidents_and_targetless_severities_are_left_alone(
    service, responder
):
    with time_machine.travel(T0, tick=False):
        resolved = verify(declare(service, "P1"))
        incident_transition(incident=resolved, to="resolved", by=responder)
        p2 = declare(service, "P2")
        incident_acknowledge(incident=p2, by=responder)
    with time_machine.travel(resolved.detected_at + timedelta(days=3), tick=False):
        assert incident_targets_sweep_task() == 0
