"""An alert's acknowledge and resolve events applied to its incident, and
how an event names its sender on the timeline (part of the batch engine in
alerts.py)."""

from __future__ import annotations

from incidents.lifecycle import allowed_next
from incidents.models import (
    Alert,
    AlertEvent,
    Incident,
)
from incidents.services.checklists import verification_open_items
from incidents.services.incident import incident_transition
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import ALERT_RESOLVED, RESOLVE_HELD


def alert_sender(event: AlertEvent) -> str:
    if event.integration is not None:
        return event.integration.name
    return f"report by {event.reported_by}" if event.reported_by else "a report"


def _current_incident(alert: Alert) -> Incident | None:
    # Re-read: an earlier event of the batch may have moved the incident
    # through another of its alerts.
    if alert.incident_id is None:
        return None
    alert.incident = Incident.objects.get(pk=alert.incident_id)
    return alert.incident


def alert_acknowledge_by_event(
    event: AlertEvent, alert: Alert | None
) -> tuple[Incident | None, str]:
    if alert is None:
        return None, "ignored: no open alert with that key"
    if alert.status == Alert.Status.TRIGGERED:
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.acknowledged_at = event.received_at
        alert.save(update_fields=["status", "acknowledged_at"])
    incident = _current_incident(alert)
    if incident is not None and incident.status == Incident.Status.TRIGGERED:
        incident_transition(
            incident=incident,
            to=Incident.Status.ACKNOWLEDGED,
            by=None,
            via=event.source,
            reason=f"acknowledged by {alert_sender(event)}",
            at=event.received_at,
        )
    return incident, f"alert {alert.pk} acknowledged"


def alert_resolve_by_event(
    event: AlertEvent, alert: Alert | None
) -> tuple[Incident | None, str]:
    if alert is None:
        return None, "ignored: no open alert with that key"
    alert.status = Alert.Status.RESOLVED
    alert.resolved_at = event.received_at
    alert.save(update_fields=["status", "resolved_at"])
    incident = _current_incident(alert)
    if incident is None:
        return None, f"alert {alert.pk} resolved"
    timeline_event_record(
        incident=incident,
        kind=ALERT_RESOLVED,
        message=f"Alert resolved by {alert_sender(event)}: {alert.summary}",
        by=event.reported_by,
        via=event.source,
        at=event.received_at,
        data={"alert": alert.pk, "dedup_key": alert.dedup_key, "event": event.pk},
    )
    still_open = incident.alerts.exclude(status=Alert.Status.RESOLVED).exists()
    integration = event.integration
    if (
        not still_open
        and integration is not None
        and integration.auto_resolve
        and Incident.Status.RESOLVED in allowed_next(incident.status)
    ):
        reason = f"all alerts resolved ({integration.name})"
        if verification_open_items(incident=incident):
            _hold_for_verification(event, incident, reason)
            return (
                incident,
                f"alert {alert.pk} resolved; incident held for verification",
            )
        incident_transition(
            incident=incident,
            to=Incident.Status.RESOLVED,
            by=None,
            via=event.source,
            reason=reason,
            at=event.received_at,
        )
        return incident, f"alert {alert.pk} resolved; incident resolved"
    return incident, f"alert {alert.pk} resolved"


def _hold_for_verification(event: AlertEvent, incident: Incident, reason: str) -> None:
    """Alerts cleared on an incident whose severity resolves after human
    verification: move it to monitoring and say on the timeline what is left.

    A triggered incident stays triggered: nobody has acknowledged it, so its
    pages go on until someone does (and moving it would fake an acknowledge).
    """
    if incident.status not in (Incident.Status.TRIGGERED, Incident.Status.MONITORING):
        incident = incident_transition(
            incident=incident,
            to=Incident.Status.MONITORING,
            by=None,
            via=event.source,
            reason=f"{reason}; resolve after verification",
            at=event.received_at,
        )
    still_open = verification_open_items(incident=incident)
    timeline_event_record(
        incident=incident,
        kind=RESOLVE_HELD,
        message=f"Not resolved automatically: {incident.severity.code} needs "
        f"verification first; open: {'; '.join(item.label for item in still_open)}",
        by=None,
        via=event.source,
        at=event.received_at,
        data={
            "event": event.pk,
            "open_items": [item.label for item in still_open],
        },
    )
