"""Flood protection: past a number of incidents a minute, one flood incident.

An integration that would declare more than VIGIL_FLOOD_INCIDENTS_PER_MINUTE
incidents in a minute (by the events' receipt times) declares them up to
that number; every further alert that would open an incident is attached to
one "alert flood" incident of the integration instead, declared (and paged)
once, with each folded alert on its timeline. The flood incident takes the
next floods too while it is open; once it is resolved, the next flood
declares a new one. People are paged for the first incidents and for the
flood, not for each alert of it.

Only the worker calls this, in the batch transaction that holds the
integration's lock, so the count needs no lock of its own, and a batch
applied twice (it is not: events are claimed) would count nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from incidents.lifecycle import OPEN_STATUSES
from incidents.models import AlertEvent, AlertFlood, Incident, SeverityLevel
from incidents.services.incident import incident_change_severity, incident_create


@dataclass(frozen=True)
class Flood:
    """The flood incident an alert is folded into."""

    incident: Incident
    declared: bool  # declared for this alert: it pages as any new incident


def alert_flood_fold(*, event: AlertEvent, severity: SeverityLevel) -> Flood | None:
    """Count the incident `event` is about to open for its integration; past
    the minute's limit, return the flood incident to attach its alert to
    instead (declaring it, or raising its severity to `severity`).
    """
    limit = settings.VIGIL_FLOOD_INCIDENTS_PER_MINUTE
    integration = event.integration
    if not limit or integration is None:
        return None
    minute = event.received_at.replace(second=0, microsecond=0)
    flood, _ = AlertFlood.objects.get_or_create(
        integration=integration, defaults={"window_start": minute}
    )
    if minute > flood.window_start:
        flood.window_start, flood.declared = minute, 0
    if flood.declared < limit:
        flood.declared += 1
        flood.save(update_fields=["window_start", "declared"])
        return None
    incident = _open(flood.incident_id)
    declared = incident is None
    if incident is None:
        incident = _declare(event, severity, limit, minute)
        flood.incident = incident
    elif severity.rank < incident.severity.rank:
        incident = incident_change_severity(
            incident=incident,
            severity=severity,
            by=None,
            via=event.source,
            reason=f"a {severity.code} alert joined the flood",
        )
    flood.save(update_fields=["window_start", "declared", "incident"])
    return Flood(incident=incident, declared=declared)


def alert_flood_is(incident: Incident) -> bool:
    """Return whether `incident` is an integration's current flood incident."""
    return AlertFlood.objects.filter(incident=incident).exists()


def _open(incident_id: int | None) -> Incident | None:
    if incident_id is None:
        return None
    return (
        Incident.objects.select_related("severity")
        .filter(pk=incident_id, status__in=OPEN_STATUSES)
        .first()
    )


def _declare(
    event: AlertEvent, severity: SeverityLevel, limit: int, minute: datetime
) -> Incident:
    name = event.integration.name if event.integration else "a report"
    summary = (
        f"{name} opened more than {limit} incidents in the minute from "
        f"{minute:%H:%M} UTC. Its further alerts are attached to this incident "
        "instead of each opening (and paging for) an incident of its own; they "
        "are listed on its timeline and among its alerts."
    )
    return incident_create(
        title=f"Alert flood from {name}"[:200],
        severity=severity,
        service=event.service,
        by=None,
        via=event.source,
        summary=summary,
        detection_source=Incident.DetectionSource.MONITORING_ALERT,
        started_at=event.received_at,
        detected_at=event.received_at,
        is_drill=event.integration is not None and event.integration.is_drill,
    )
