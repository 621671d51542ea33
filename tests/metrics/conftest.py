"""Incidents with known times, declared and worked through the real services."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from incidents.models import Incident, Service
from incidents.services import incident_acknowledge, incident_transition
from tests.factories import declare, verify

T0 = datetime.fromisoformat("2026-03-10T12:00:00+00:00")


def worked(
    service: Service,
    severity: str = "P2",
    *,
    at: datetime = T0,
    started: timedelta = timedelta(0),
    ack: timedelta | None = None,
    mitigate: timedelta | None = None,
    resolve: timedelta | None = None,
    **kwargs: object,
) -> Incident:
    """Declare an incident detected at `at` whose impact began `started`
    before, acknowledged, mitigated and resolved at those offsets after `at`."""
    with time_machine.travel(at, tick=False):
        incident = declare(service, severity, started_at=at - started, **kwargs)
    if ack is not None:
        with time_machine.travel(at + ack, tick=False):
            incident_acknowledge(incident=incident, by=None)
    if mitigate is not None:
        with time_machine.travel(at + mitigate, tick=False):
            incident_transition(incident=incident, to="monitoring", by=None)
    if resolve is not None:
        with time_machine.travel(at + resolve, tick=False):
            verify(incident)
            incident_transition(incident=incident, to="resolved", by=None)
    incident.refresh_from_db()
    return incident
