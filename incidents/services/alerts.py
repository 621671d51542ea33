"""From received events to alerts and incidents (SPEC §3.1)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from config.db import DATABASE_UNAVAILABLE
from escalation.services import escalation_renotify
from incidents.exceptions import EventFailedError
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
from incidents.services.checklists import verification_open_items
from incidents.services.floods import alert_flood_fold, alert_flood_is
from incidents.services.incident import incident_create, incident_transition
from incidents.services.quarantine import alert_event_fail
from incidents.services.recurrence import incident_repeats_find
from incidents.timeline import record_timeline

logger = logging.getLogger(__name__)

Source = AlertEvent.Source
# Events applied in one transaction; a storm is worked through batch by batch.
# Small enough that a batch of new incidents holds its locks (the day's
# incident counter among them) for about a second, not for many.
BATCH = 100
# A task gives its worker back after about this long, asking for more.
PASS_SECONDS = 5.0
# While events of an integration keep arriving, the wait between two looks.
LINGER_SECONDS = 0.1
DETECTION: dict[str, str] = {
    Source.HEARTBEAT: Incident.DetectionSource.HEALTH_CHECK,
    Source.USER_REPORT: Incident.DetectionSource.USER_REPORT,
}


def alert_event_record(
    *,
    source: str,
    action: str,
    dedup_key: str,
    payload: Any,
    integration: Integration | None = None,
    service: Service | None = None,
    reported_by: User | None = None,
) -> AlertEvent:
    """Store a received event durably and have a worker process it.

    This is the request path's only write; `service` defaults to the
    integration's. After commit a worker is asked to process the event,
    unless an older event of the integration is still pending: whichever
    task applies that one goes on until none is left, so it applies this one
    too. If the broker cannot take the message, the row waits for the
    recovery sweep, so an accepted event is never lost.
    """
    if service is not None:
        service_id = service.pk
    elif integration is not None:
        service_id = integration.service_id
    else:
        raise ValueError("an event needs a service or an integration")
    event = AlertEvent(
        integration=integration,
        service_id=service_id,
        source=source,
        action=action,
        dedup_key=dedup_key,
        payload=payload,
        reported_by=reported_by,
    )
    if not connection.features.can_return_columns_from_insert:
        event.save(force_insert=True)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT, _insert_params(event))
            (event.pk,) = cursor.fetchone()
        _stored(event)
    transaction.on_commit(lambda: _ask_for_processing(event), robust=True)
    return event


def alert_event_record_for_key(
    *,
    key_hash: str,
    kind: str,
    source: str,
    action: str,
    dedup_key: str,
    payload: Any,
    condition: tuple[str, list[Any]] | None = None,
) -> AlertEvent | None:
    """Store an event for the enabled `kind` integration whose current key
    hashes to `key_hash`, in one statement; None if there is no such one.

    The ingest endpoints' fast path: the key is checked by the INSERT that
    stores the event (its integration and service read from the row the key
    finds), one round trip instead of a lookup and then the INSERT. On None
    the caller looks the key up as usual, to tell an unknown key (404, after
    the fixed delay) from a disabled integration, another kind's key or a
    previous key still in its overlap. (Also None, storing nothing, on a
    database that cannot return what it inserted: the usual path then.)
    `condition`, SQL on the integration row `i` and its parameters, is one
    more thing the row must satisfy (also None, storing nothing, if not).
    """
    if not connection.features.can_return_columns_from_insert:
        return None
    event = AlertEvent(
        source=source, action=action, dedup_key=dedup_key, payload=payload
    )
    with connection.cursor() as cursor:
        params = [*_insert_params(event, skip=_FROM_INTEGRATION), key_hash, kind]
        sql = _INSERT_FOR_KEY
        if condition is not None:
            sql = f"{_INSERT_FOR_KEY_WHERE} AND {condition[0]}{_RETURNING_CLAUSE}"
            params += condition[1]
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    event.pk, event.integration_id, event.service_id = row
    _stored(event)
    transaction.on_commit(lambda: _ask_for_processing(event), robust=True)
    return event


# Every accepted request runs one of these INSERTs. Written out once here,
# they cost about a quarter less CPU than `save()`, which builds the same SQL
# each time. The second takes the integration and service from the row the
# key finds (the same lookup `incidents.ingest.auth` does: by hash, unique).
_EVENT_FIELDS = [f for f in AlertEvent._meta.concrete_fields if not f.primary_key]
_FROM_INTEGRATION = {"integration_id": "i.id", "service_id": "i.service_id"}
_quote = connection.ops.quote_name
_COLUMNS = ", ".join(_quote(f.column) for f in _EVENT_FIELDS)
_RETURNING = ", ".join(
    _quote(c) for c in (AlertEvent._meta.pk.column, *_FROM_INTEGRATION)
)
_INSERT = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(  # noqa: S608
    _quote(AlertEvent._meta.db_table),
    _COLUMNS,
    ", ".join(["%s"] * len(_EVENT_FIELDS)),
    _quote(AlertEvent._meta.pk.column),
)
_INSERT_FOR_KEY_WHERE = (  # noqa: S608 - names from the models
    "INSERT INTO {} ({}) SELECT {} FROM {} i"
    " WHERE i.key_hash = %s AND i.enabled AND i.kind = %s"
).format(
    _quote(AlertEvent._meta.db_table),
    _COLUMNS,
    ", ".join(_FROM_INTEGRATION.get(f.column, "%s") for f in _EVENT_FIELDS),
    _quote(Integration._meta.db_table),
)
_RETURNING_CLAUSE = f" RETURNING {_RETURNING}"
_INSERT_FOR_KEY = _INSERT_FOR_KEY_WHERE + _RETURNING_CLAUSE


def _insert_params(event: AlertEvent, skip: Collection[str] = ()) -> list[Any]:
    """The INSERT's parameters, as `save()` would make them (AlertEvent has
    no save signals), but for the columns in `skip`."""
    return [
        field.get_db_prep_save(field.pre_save(event, True), connection)
        for field in _EVENT_FIELDS
        if field.column not in skip
    ]


def _stored(event: AlertEvent) -> None:
    event._state.adding = False
    event._state.db = connection.alias


def _ask_for_processing(event: AlertEvent) -> None:
    from incidents.tasks import enqueue_processing

    if event.integration_id is not None:
        try:
            if _pending_before(event):
                return
        except DatabaseError:
            logger.exception("could not look for pending events; enqueuing")
    enqueue_processing(event)


def _pending_before(event: AlertEvent) -> bool:
    """Return whether an older event of the same integration awaits processing.

    Run after the event committed. If so, the task that applies that older
    event commits after this moment and then looks again before it stops,
    so it finds this event: its own message would only wake a worker to
    find nothing. Older only, so that two events never count on each other.
    """
    with connection.cursor() as cursor:
        cursor.execute(_PENDING_BEFORE, [event.integration_id, event.pk])
        row = cursor.fetchone()
    return row is not None


# Raw SQL: it runs on every accepted request, and the ORM takes several times
# longer to build it than PostgreSQL to answer it. Newest first: under a
# backlog the event just before this one is pending, the first entry of the
# partial index `alertevent_pending_idx` read, rather than after every
# processed event whose entry vacuum has not removed yet.
_PENDING_BEFORE = (
    f"SELECT 1 FROM {AlertEvent._meta.db_table} "  # noqa: S608 - no user input
    "WHERE integration_id = %s AND processed_at IS NULL AND id < %s"
    " ORDER BY id DESC LIMIT 1"
)


@dataclass(frozen=True)
class Progress:
    """What one call of `alert_events_process` did."""

    applied: int
    # Stopped for time with events possibly left: process the integration again.
    more: bool = False


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
        return Progress(_apply_batch(None, event_id=event_id))
    deadline = time.monotonic() + seconds
    applied = looks = 0
    while True:
        done = _apply_batch(integration_id)
        applied, looks = applied + done, looks + 1
        if done == 0:
            return Progress(applied)
        if time.monotonic() >= deadline:
            return Progress(applied, more=True)
        if looks > 1 and done < BATCH:
            # Events keep coming a few at a time: let them gather, so that
            # a storm costs a few transactions a second, not hundreds.
            time.sleep(LINGER_SECONDS)


def _apply_batch(integration_id: int | None, event_id: int | None = None) -> int:
    """Apply the next batch of pending events; return how many were handled.

    If applying the batch fails, it is rolled back and its events applied
    again one at a time, so that the failure is only the failing event's:
    see `_apply_one_by_one`. Raise EventFailedError when an event failed
    and stays pending for another attempt (the task retries it, later).
    """
    try:
        return _apply_pending(integration_id, event_id)[0]
    except DATABASE_UNAVAILABLE:
        raise  # the task retries the whole batch
    except Exception:
        logger.warning(
            "a batch of integration %s failed; applying its events one by one",
            integration_id,
            exc_info=True,
        )
    handled, held = _apply_pending(integration_id, event_id, one_by_one=True)
    if held is not None:
        raise EventFailedError(
            f"event {held.pk} failed (attempt {held.attempts}), retrying later: "
            f"{held.error}"
        )
    return handled


@transaction.atomic
def _apply_pending(
    integration_id: int | None, event_id: int | None = None, one_by_one: bool = False
) -> tuple[int, AlertEvent | None]:
    pending = AlertEvent.objects.filter(processed_at__isnull=True)
    integration = None
    if integration_id is not None:
        integration = (
            Integration.objects.select_for_update(no_key=True)
            .filter(pk=integration_id)
            .first()
        )
        if integration is None:  # deleted, and its events with it
            return 0, None
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
    _apply_events(integration, events)
    return len(events), None


def _apply_events(integration: Integration | None, events: list[AlertEvent]) -> None:
    batch = _Batch(integration)
    for event in events:
        batch.read(event)
    batch.lock_open_alerts(events)
    for event in events:
        _apply_event(batch, event)
    batch.flush(events)


def _apply_one_by_one(
    integration: Integration | None, events: list[AlertEvent]
) -> tuple[int, AlertEvent | None]:
    """Apply each event in its own savepoint, in order; record a failure on
    its event. Stop at an event that failed but has attempts left (return
    it: it must be applied before the ones behind it); go on past one that
    failed its last attempt, now quarantined."""
    for done, event in enumerate(events):
        try:
            with transaction.atomic():
                _apply_events(integration, [event])
        except DATABASE_UNAVAILABLE:
            raise
        except Exception as error:
            logger.warning("event %s failed to apply", event.pk, exc_info=True)
            if not alert_event_fail(event=event, error=error):
                return done, event
    return len(events), None


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
        return _resolve(event, alert)
    if signal.action == ACKNOWLEDGE:
        return _acknowledge(event, alert)
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
        message = f"Alert folded into the flood ({_sender(event)}): {alert.summary}"
    elif incident is None:
        incident = _declare(event, signal, batch.severity(severity))
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
    incident_repeats_find(incident=incident, alert=alert, via=event.source)
    # A flood pages once, when declared: its further alerts page no one.
    if not declared and flood is None and not alert_flood_is(incident):
        escalation_renotify(incident=incident, alert=alert)
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
    )


def _sender(event: AlertEvent) -> str:
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


def _acknowledge(event: AlertEvent, alert: Alert | None) -> tuple[Incident | None, str]:
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
    incident = _current_incident(alert)
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
    record_timeline(
        incident,
        TimelineEvent.Kind.RESOLVE_HELD,
        f"Not resolved automatically: {incident.severity.code} needs verification "
        f"first; open: {'; '.join(item.label for item in still_open)}",
        by=None,
        via=event.source,
        at=event.received_at,
        data={
            "event": event.pk,
            "open_items": [item.label for item in still_open],
        },
    )
