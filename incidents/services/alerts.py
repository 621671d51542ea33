"""From received events to alerts and incidents (SPEC §3.1)."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.ingest.dispatch import signals_of
from incidents.ingest.severity import map_severity
from incidents.ingest.signals import ACKNOWLEDGE, RESOLVE, AlertSignal, InvalidEvent
from incidents.lifecycle import OPEN_STATUSES, allowed_next
from incidents.models import (
    Alert,
    AlertEvent,
    Incident,
    Integration,
    MaintenanceWindow,
    Service,
    SeverityLevel,
    TimelineEvent,
)
from incidents.services.incident import (
    incident_create,
    incident_transition,
    record_timeline,
)

logger = logging.getLogger(__name__)

Source = AlertEvent.Source
# Events handled in one transaction; a storm is worked through batch by batch.
BATCH = 500
DETECTION: dict[str, str] = {
    Source.HEARTBEAT: Incident.DetectionSource.HEALTH_CHECK,
    Source.USER_REPORT: Incident.DetectionSource.USER_REPORT,
}


def alert_event_record(
    *,
    service: Service,
    source: str,
    action: str,
    dedup_key: str,
    payload: Any,
    integration: Integration | None = None,
    reported_by: User | None = None,
) -> AlertEvent:
    """Store a received event durably and have a worker process it.

    This is the request path's only write. The task is enqueued after commit;
    if the broker cannot take it, the row waits for the recovery sweep, so an
    accepted event is never lost.
    """
    from incidents.tasks import enqueue_processing

    event = AlertEvent.objects.create(
        integration=integration,
        service=service,
        source=source,
        action=action,
        dedup_key=dedup_key,
        payload=payload,
        reported_by=reported_by,
    )
    transaction.on_commit(lambda: enqueue_processing(event), robust=True)
    return event


def alert_events_process(
    *, integration_id: int | None, event_id: int | None = None
) -> int:
    """Apply pending events of one integration (or one report), in order.

    Events of an integration are applied one batch at a time under that
    integration's row lock, oldest first: a resolve never overtakes its
    trigger, and two workers never work the same events. Return how many
    events were applied.
    """
    done = 0
    while True:
        with transaction.atomic():
            pending = AlertEvent.objects.filter(processed_at__isnull=True)
            if integration_id is not None:
                Integration.objects.select_for_update().filter(
                    pk=integration_id
                ).first()
                pending = pending.filter(integration_id=integration_id)
            else:
                pending = pending.filter(pk=event_id or 0).select_for_update(
                    of=("self",)
                )
            batch = list(
                pending.select_related("integration", "service__team").order_by("id")[
                    :BATCH
                ]
            )
            for event in batch:
                _apply_event(event)
        done += len(batch)
        if len(batch) < BATCH or integration_id is None:
            return done


def _apply_event(event: AlertEvent) -> None:
    outcomes: list[str] = []
    try:
        signals = signals_of(event)
    except InvalidEvent as error:  # stored before a validation change; keep it
        signals = []
        outcomes.append("invalid: " + "; ".join(error.errors))
    for signal in signals:
        incident, outcome = _apply_signal(event, signal)
        outcomes.append(outcome)
        event.incident = event.incident or incident
    event.processed_at = timezone.now()
    event.outcome = "; ".join(outcomes)[:200]
    event.save(update_fields=["processed_at", "outcome", "incident"])


def _open_alert(event: AlertEvent, dedup_key: str) -> Alert | None:
    return (
        Alert.objects.select_for_update(of=("self",))
        .filter(integration=event.integration, service=event.service)
        .filter(dedup_key=dedup_key)
        .exclude(status=Alert.Status.RESOLVED)
        .select_related("incident")
        .first()
    )


def _apply_signal(
    event: AlertEvent, signal: AlertSignal
) -> tuple[Incident | None, str]:
    alert = _open_alert(event, signal.dedup_key)
    if signal.action == RESOLVE:
        return _resolve(event, alert)
    if signal.action == ACKNOWLEDGE:
        return _acknowledge(event, alert)
    if alert is not None:
        alert.event_count += 1
        alert.last_seen_at = event.received_at
        alert.save(update_fields=["event_count", "last_seen_at"])
        return alert.incident, f"deduplicated into alert {alert.pk}"
    return _trigger(event, signal)


def _window(service: Service, at: datetime) -> MaintenanceWindow | None:
    return MaintenanceWindow.objects.filter(
        service=service, starts_at__lte=at, ends_at__gt=at
    ).first()


def _trigger(event: AlertEvent, signal: AlertSignal) -> tuple[Incident | None, str]:
    severity = map_severity(
        integration=event.integration,
        sender_severity=signal.sender_severity,
        labels=signal.labels,
    )
    window = _window(event.service, event.received_at)
    alert = Alert.objects.create(
        integration=event.integration,
        service=event.service,
        source=event.source,
        dedup_key=signal.dedup_key,
        group_key=_group_hash(signal.group_key),
        summary=signal.summary or "(no summary)",
        severity=severity,
        sender_severity=signal.sender_severity[:32],
        details=signal.details,
        first_seen_at=event.received_at,
        last_seen_at=event.received_at,
        maintenance_window=window,
    )
    if window is not None:
        return None, f"alert {alert.pk} suppressed by maintenance window {window.pk}"
    incident = _group_incident(alert)
    if incident is None:
        incident = _declare(event, signal, severity)
        message = f"Alert from {_sender(event)}: {alert.summary}"
    else:
        message = f"New alert firing in this group ({_sender(event)}): {alert.summary}"
    alert.incident = incident
    alert.save(update_fields=["incident"])
    record_timeline(
        incident,
        TimelineEvent.Kind.ALERT_ATTACHED,
        message,
        by=event.reported_by,
        via=event.source,
        data={"alert": alert.pk, "dedup_key": alert.dedup_key, "event": event.pk},
    )
    return incident, f"alert {alert.pk} on {incident.public_id}"


def _group_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest() if group_key else ""


def _group_incident(alert: Alert) -> Incident | None:
    """Return the open incident this alert's group already has, if any."""
    if not alert.group_key or alert.integration_id is None:
        return None
    sibling = (
        Alert.objects.filter(
            integration_id=alert.integration_id,
            group_key=alert.group_key,
            incident__status__in=OPEN_STATUSES,
        )
        .exclude(pk=alert.pk)
        .select_related("incident")
        .first()
    )
    return sibling.incident if sibling is not None else None


def _declare(event: AlertEvent, signal: AlertSignal, severity: str) -> Incident:
    received = event.received_at
    started = (
        signal.occurred_at
        if signal.occurred_at and signal.occurred_at <= received
        else received
    )
    title = signal.summary or "(no summary)"
    return incident_create(
        title=title if len(title) <= 200 else title[:199] + "…",
        severity=SeverityLevel.objects.get(code=severity),
        service=event.service,
        by=event.reported_by,
        via=event.source,
        summary=signal.summary,
        category=(
            Incident.Category.OTHER
            if event.source != Source.HEARTBEAT
            else Incident.Category.SITE_DOWN
        ),
        detection_source=DETECTION.get(
            event.source, Incident.DetectionSource.MONITORING_ALERT
        ),
        started_at=started,
        detected_at=received,
    )


def _sender(event: AlertEvent) -> str:
    if event.integration is not None:
        return event.integration.name
    return f"report by {event.reported_by}" if event.reported_by else "a report"


def _acknowledge(event: AlertEvent, alert: Alert | None) -> tuple[Incident | None, str]:
    if alert is None:
        return None, "ignored: no open alert with that key"
    if alert.status == Alert.Status.TRIGGERED:
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.acknowledged_at = event.received_at
        alert.save(update_fields=["status", "acknowledged_at"])
    incident = alert.incident
    if incident is not None and incident.status == Incident.Status.TRIGGERED:
        incident_transition(
            incident=incident,
            to=Incident.Status.ACKNOWLEDGED,
            by=None,
            via=event.source,
            reason=f"acknowledged by {_sender(event)}",
            at=event.received_at,
        )
    return incident, f"alert {alert.pk} acknowledged"


def _resolve(event: AlertEvent, alert: Alert | None) -> tuple[Incident | None, str]:
    if alert is None:
        return None, "ignored: no open alert with that key"
    alert.status = Alert.Status.RESOLVED
    alert.resolved_at = event.received_at
    alert.save(update_fields=["status", "resolved_at"])
    incident = alert.incident
    if incident is None:
        return None, f"alert {alert.pk} resolved"
    record_timeline(
        incident,
        TimelineEvent.Kind.ALERT_RESOLVED,
        f"Alert resolved by {_sender(event)}: {alert.summary}",
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
        incident_transition(
            incident=incident,
            to=Incident.Status.RESOLVED,
            by=None,
            via=event.source,
            reason=f"all alerts resolved ({integration.name})",
            at=event.received_at,
        )
        return incident, f"alert {alert.pk} resolved; incident resolved"
    return incident, f"alert {alert.pk} resolved"
