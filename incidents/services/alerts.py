"""From stored events to alerts and incidents: the worker's batch engine.

Events are applied per integration, in batches of one transaction each,
in the order they were received; a trigger opens or joins an alert and
its incident (or a flood), acknowledge and resolve close them. How an
event is stored on the request path is in alert_events.py.

Over 400 lines on purpose: the batch's steps share one transaction and the
integration's row lock, and are tested as one engine.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.db import DATABASE_UNAVAILABLE
from incidents.exceptions import EventFailedError
from incidents.ingest.dispatch import signals_of
from incidents.ingest.severity import map_severity
from incidents.ingest.signals import ACKNOWLEDGE, RESOLVE, AlertSignal, InvalidEvent
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import (
    Alert,
    AlertEvent,
    Incident,
    Integration,
    MaintenanceWindow,
    Service,
    SeverityLevel,
)
from incidents.services.alert_closing import (
    alert_acknowledge_by_event,
    alert_resolve_by_event,
    alert_sender,
)
from incidents.services.floods import alert_flood_fold, alert_flood_is
from incidents.services.incident import incident_create
from incidents.services.quarantine import alert_event_fail
from incidents.services.recurrence import incident_repeats_find
from incidents.services.timeline import timeline_event_record
from incidents.signals import alert_attached
from incidents.timeline_kinds import ALERT_ATTACHED

logger = logging.getLogger(__name__)

Source = AlertEvent.Source
# Events applied in one transaction at most; a storm is worked through batch
# by batch. A batch also ends with the event that declares an incident: a
# declaration takes the day's incident counter row (every other
# integration's new incident needs it too) and holds it to its commit, so
# a storm never holds it across more than one declaration, and a quiet
# integration's P0 waits for at most one of the storm's incidents, not for
# a batch of them. Events that declare nothing (a storm on one key,
# resolves) still go 10 to a transaction.
BATCH = 10
# A task gives its worker back after about this long, asking for more (on
# the backlog lane): one storming integration holds a worker for about a
# second at a time, so the other integrations' new alerts and the pages
# sharing the worker never wait for long.
PASS_SECONDS = 1.0
# While events of an integration keep arriving, the wait between two looks.
LINGER_SECONDS = 0.1
DETECTION: dict[str, str] = {
    Source.HEARTBEAT: Incident.DetectionSource.HEALTH_CHECK,
    Source.USER_REPORT: Incident.DetectionSource.USER_REPORT,
}


@dataclass(frozen=True)
class Progress:
    """What one call of `alert_events_process` did."""

    applied: int
    # Stopped for time with events possibly left: process the integration again.
    more: bool = False
    # Its last batch was full (it stopped with events left: BATCH of them, or
    # at a declaration): a backlog (a storm), not a few events that took
    # long to apply on a busy machine.
    backlog: bool = False


def alert_events_process(
    *,
    integration_id: int | None,
    event_id: int | None = None,
    seconds: float = PASS_SECONDS,
) -> Progress:
    """Apply pending events of one integration (or one report), in order.

    Events of an integration are applied one batch at a time under that
    integration's row lock (FOR NO KEY UPDATE: it does not block the request
    path's inserts, whose foreign key takes FOR KEY SHARE), oldest first: a
    resolve never overtakes its trigger, and two workers never work the same
    events. It goes on until a look finds nothing pending, or for about
    `seconds`, after which it says there may be `more`, so that one busy
    integration does not keep a worker from the others. An event that fails
    to apply stops the pass (EventFailedError) until its next attempt, or,
    at its last, is quarantined and the pass goes on.
    """
    if integration_id is None:
        return Progress(_apply_batch(None, event_id=event_id).handled)
    deadline = time.monotonic() + seconds
    applied = looks = 0
    while True:
        done = _apply_batch(integration_id)
        applied, looks = applied + done.handled, looks + 1
        if done.handled == 0:
            return Progress(applied)
        if time.monotonic() >= deadline:
            return Progress(applied, more=True, backlog=done.full)
        if looks > 1 and not done.full:
            # Events keep coming a few at a time: let them gather, so that
            # a storm costs a few transactions a second, not hundreds.
            time.sleep(LINGER_SECONDS)


@dataclass(frozen=True)
class _Done:
    """What one batch did."""

    handled: int
    # It stopped with events left behind it: BATCH of them, or a declaration.
    full: bool = False
    # The event that failed and stays pending (one by one only).
    held: AlertEvent | None = None


def _apply_batch(integration_id: int | None, event_id: int | None = None) -> _Done:
    """Apply the next batch of pending events; say how many were handled.

    If applying the batch fails, it is rolled back and its events applied
    again one at a time, so that the failure is only the failing event's:
    see `_apply_one_by_one`. Raise EventFailedError when an event failed
    and stays pending for another attempt (the task retries it, later).
    """
    try:
        return _apply_pending(integration_id, event_id)
    except DATABASE_UNAVAILABLE:
        raise  # the task retries the whole batch
    except Exception:
        logger.warning(
            "a batch of integration %s failed; applying its events one by one",
            integration_id,
            exc_info=True,
        )
    done = _apply_pending(integration_id, event_id, one_by_one=True)
    if (held := done.held) is not None:
        raise EventFailedError(
            f"event {held.pk} failed (attempt {held.attempts}), retrying later: "
            f"{held.error}"
        )
    return done


@transaction.atomic
def _apply_pending(
    integration_id: int | None, event_id: int | None = None, one_by_one: bool = False
) -> _Done:
    pending = AlertEvent.objects.filter(processed_at__isnull=True)
    integration = None
    if integration_id is not None:
        # By id only: the model's default order (by its service's name) would
        # join the service, and lock the service's row with it.
        integration = (
            Integration.objects.select_for_update(no_key=True)
            .filter(pk=integration_id)
            .order_by("pk")
            .first()
        )
        if integration is None:  # deleted, and its events with it
            return _Done(0)
        pending = pending.filter(integration_id=integration_id)
    else:
        # A report: events of integrations are only applied under its lock.
        pending = pending.filter(pk=event_id or 0, integration__isnull=True)
        pending = pending.select_for_update(of=("self",))
    events = list(pending.select_related("service__team").order_by("id")[:BATCH])
    for event in events:
        if integration is not None:
            event.integration = integration
    if one_by_one:
        return _apply_one_by_one(integration, events)
    handled, _ = _apply_events(integration, events)
    return _Done(handled, full=handled < len(events) or handled == BATCH)


def _apply_events(
    integration: Integration | None, events: list[AlertEvent]
) -> tuple[int, bool]:
    """Apply `events` in order, up to and including the first that declares
    an incident; return how many were applied (the rest stay pending) and
    whether the last of them declared one."""
    batch = _Batch(integration)
    for event in events:
        batch.read(event)
    batch.lock_open_alerts(events)
    applied = []
    for event in events:
        _apply_event(batch, event)
        applied.append(event)
        if batch.declared:
            break
    batch.flush(applied)
    return len(applied), batch.declared


def _apply_one_by_one(
    integration: Integration | None, events: list[AlertEvent]
) -> _Done:
    """Apply each event in its own savepoint, in order; record a failure on
    its event. Stop at an event that failed but has attempts left (return
    it: it must be applied before the ones behind it); go on past one that
    failed its last attempt, now quarantined. Stop after a declaration too,
    as a batch does."""
    for done, event in enumerate(events, start=1):
        try:
            with transaction.atomic():
                _, declared = _apply_events(integration, [event])
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as error:
            logger.warning("event %s failed to apply", event.pk, exc_info=True)
            if not alert_event_fail(event=event, error=error):
                return _Done(done - 1, held=event)
            continue
        if declared and done < len(events):
            return _Done(done, full=True)
    return _Done(len(events), full=len(events) == BATCH)


class _Batch:
    """What one batch transaction holds: its events' signals, the open alerts
    of their keys (locked), and the few rows every event would look up."""

    def __init__(self, integration: Integration | None) -> None:
        self.integration = integration
        self.signals: dict[int, list[AlertSignal] | InvalidEvent] = {}
        # (service id, dedup key) → its open alert, or None if it has none.
        self.open: dict[tuple[int, str], Alert | None] = {}
        self.counted: dict[int, Alert] = {}
        self.severities: dict[str, SeverityLevel] = {}
        # An event of the batch declared an incident: the batch ends there.
        self.declared = False

    def read(self, event: AlertEvent) -> None:
        try:
            self.signals[event.pk] = signals_of(event)
        except InvalidEvent as error:  # stored before a validation change
            self.signals[event.pk] = error

    def lock_open_alerts(self, events: list[AlertEvent]) -> None:
        """Find and lock the open alerts of every key the batch mentions.

        Only the holder of the integration's lock creates or changes its
        alerts, so what is not found here stays absent until this batch
        creates it.
        """
        keys = {
            (event.service_id, signal.dedup_key)
            for event in events
            if isinstance(signals := self.signals[event.pk], list)
            for signal in signals
        }
        if not keys:
            return
        found = (
            Alert.objects.select_for_update(of=("self",))
            .filter(
                integration=self.integration,
                service_id__in={service for service, _ in keys},
                dedup_key__in={key for _, key in keys},
            )
            .exclude(status=Alert.Status.RESOLVED)
            .select_related("incident")
        )
        self.open = dict.fromkeys(keys)
        for alert in found:
            self.open[alert.service_id, alert.dedup_key] = alert

    def severity(self, code: str) -> SeverityLevel:
        if code not in self.severities:
            self.severities[code] = SeverityLevel.objects.get(code=code)
        return self.severities[code]

    def flush(self, events: list[AlertEvent]) -> None:
        """Write what was counted in memory: alerts' counts, events' outcomes.

        Events with the same outcome (a storm's) are stamped by one UPDATE.
        """
        for alert in self.counted.values():
            Alert.objects.filter(pk=alert.pk).update(
                event_count=alert.event_count, last_seen_at=alert.last_seen_at
            )
        now = timezone.now()
        alike: dict[tuple[str, int | None], list[int]] = defaultdict(list)
        for event in events:
            event.processed_at = now
            alike[event.outcome, event.incident_id].append(event.pk)
        for (outcome, incident_id), ids in alike.items():
            AlertEvent.objects.filter(pk__in=ids).update(
                processed_at=now, outcome=outcome, incident_id=incident_id
            )


def _apply_event(batch: _Batch, event: AlertEvent) -> None:
    outcomes: list[str] = []
    signals = batch.signals[event.pk]
    if isinstance(signals, InvalidEvent):  # stored before a validation change
        outcomes.append("invalid: " + "; ".join(signals.errors))
        signals = []
    for signal in signals:
        incident, outcome = _apply_signal(batch, event, signal)
        outcomes.append(outcome)
        event.incident = event.incident or incident
    event.outcome = "; ".join(outcomes)[:200]


def _apply_signal(
    batch: _Batch, event: AlertEvent, signal: AlertSignal
) -> tuple[Incident | None, str]:
    key = (event.service_id, signal.dedup_key)
    alert = batch.open[key]
    if signal.action == RESOLVE:
        batch.open[key] = None
        return alert_resolve_by_event(event, alert)
    if signal.action == ACKNOWLEDGE:
        return alert_acknowledge_by_event(event, alert)
    if alert is not None:
        # Counted in memory, written once per batch: a storm of one key
        # costs one UPDATE per batch, not one per event.
        alert.event_count += 1
        alert.last_seen_at = event.received_at
        batch.counted[alert.pk] = alert
        return alert.incident, f"deduplicated into alert {alert.pk}"
    incident, outcome, batch.open[key] = _trigger(batch, event, signal)
    return incident, outcome


def _window(service: Service, at: datetime) -> MaintenanceWindow | None:
    return MaintenanceWindow.objects.filter(
        service=service, starts_at__lte=at, ends_at__gt=at
    ).first()


def _trigger(
    batch: _Batch, event: AlertEvent, signal: AlertSignal
) -> tuple[Incident | None, str, Alert]:
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
        outcome = f"alert {alert.pk} suppressed by maintenance window {window.pk}"
        return None, outcome, alert
    incident = _group_incident(alert)
    flood = (  # past the integration's incidents a minute: one flood incident
        alert_flood_fold(event=event, severity=batch.severity(severity))
        if incident is None
        else None
    )
    declared = incident is None
    if flood is not None:
        incident, declared = flood.incident, flood.declared
        message = (
            f"Alert folded into the flood ({alert_sender(event)}): {alert.summary}"
        )
    elif incident is None:
        incident = _declare(event, signal, batch.severity(severity))
        message = f"Alert from {alert_sender(event)}: {alert.summary}"
    else:
        message = (
            f"New alert firing in this group ({alert_sender(event)}): {alert.summary}"
        )
    batch.declared = batch.declared or declared
    alert.incident = incident
    alert.save(update_fields=["incident"])
    timeline_event_record(
        incident=incident,
        kind=ALERT_ATTACHED,
        message=message,
        by=event.reported_by,
        via=event.source,
        data={"alert": alert.pk, "dedup_key": alert.dedup_key, "event": event.pk},
    )
    incident_repeats_find(incident=incident, alert=alert, via=event.source)
    # A flood pages once, when declared: its further alerts page no one.
    if not declared and flood is None and not alert_flood_is(incident):
        alert_attached.send(Incident, incident=incident, alert=alert)
    return incident, f"alert {alert.pk} on {incident.public_id}", alert


def _group_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest() if group_key else ""


def _group_incident(alert: Alert) -> Incident | None:
    """Return the open incident this alert's group already has, if any."""
    if not alert.group_key or alert.integration_id is None:
        return None
    incident_id = (
        Alert.objects.filter(
            integration_id=alert.integration_id,
            group_key=alert.group_key,
            incident__status__in=OPEN_STATUSES,
        )
        .exclude(pk=alert.pk)
        .order_by("-first_seen_at", "-id")
        .values_list("incident_id", flat=True)
        .first()
    )
    return None if incident_id is None else Incident.objects.get(pk=incident_id)


def _declare(
    event: AlertEvent, signal: AlertSignal, severity: SeverityLevel
) -> Incident:
    received = event.received_at
    started = (
        signal.occurred_at
        if signal.occurred_at and signal.occurred_at <= received
        else received
    )
    title = signal.summary or "(no summary)"
    return incident_create(
        title=title if len(title) <= 200 else title[:199] + "…",
        severity=severity,
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
        # A drill's alert declares a drill: marked from its first commit, so
        # no message of it ever goes out without [DRILL].
        is_drill=event.integration is not None and event.integration.is_drill,
    )
