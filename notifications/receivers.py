"""What notifications does when the incident core and its own deliveries
tell it something: messages about an incident on declaration and status
changes, and the timeline entries of finished deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from incidents.models import Incident, TimelineEvent
from incidents.services.timeline import timeline_event_record
from incidents.signals import incident_declared, incident_status_changed
from notifications.models import Delivery
from notifications.services import deliveries_cancel, notify
from notifications.signals import deliveries_finished
from notifications.timeline_kinds import NOTIFICATION_FAILED, NOTIFICATION_SENT

S = Incident.Status
# A move to one of these is a status update to the incident's channels.
UPDATE_STATUSES = (S.IDENTIFIED, S.MITIGATING, S.MONITORING)


def notify_declared(
    sender: Any, *, incident: Incident, event: TimelineEvent, **_: Any
) -> None:
    """Send the initial notification of a newly declared incident."""
    notify(incident=incident, message_kind="initial", event_key=f"tl{event.pk}")


def tell_channels(
    sender: Any, *, incident: Incident, event: TimelineEvent, reason: str, **_: Any
) -> None:
    """Stop waiting pages once someone is on it; tell the incident's channels."""
    to = incident.status
    if to != S.TRIGGERED:
        deliveries_cancel(incident=incident, reason=f"incident {S(to).label.lower()}")
    key = f"tl{event.pk}"
    if to == S.RESOLVED:
        notify(incident=incident, message_kind="resolution", event_key=key)
    elif to in UPDATE_STATUSES:
        update = {"text": reason or f"Status: {S(to).label}", "impact": incident.impact}
        notify(
            incident=incident,
            message_kind="update",
            event_key=key,
            extra={"update": update},
        )


def record_deliveries(
    sender: Any, *, deliveries: list[Delivery], bundled: Mapping[int, int], **_: Any
) -> None:
    """Put sent and failed messages about incidents on their timelines.

    One entry per message and outcome, naming every destination: a status
    update to 50 channels is one "sent to #a, #b, …" entry (and, if some
    failed, one entry naming those and why), not 50 entries and live events.
    """
    messages: dict[tuple[int, str, str], list[Delivery]] = {}
    for delivery in deliveries:
        if delivery.incident_id is not None:
            key = (delivery.incident_id, delivery.event_key, delivery.status)
            messages.setdefault(key, []).append(delivery)
    for same in messages.values():
        _record_message(same, bundled)


def _destination(delivery: Delivery) -> str:
    who = delivery.user.get_username() if delivery.user else None
    where = delivery.channel.name if delivery.channel else delivery.get_kind_display()
    return f"{who} by {where}" if who else where


def _record_message(deliveries: list[Delivery], bundled: Mapping[int, int]) -> None:
    first = deliveries[0]
    if first.incident is None:  # grouped by incident: never
        return
    what = first.get_message_kind_display()
    sent = first.status == Delivery.Status.SENT
    to = [_destination(d) for d in deliveries]
    if sent:
        message = f"{what} sent to " + ", ".join(
            f"{name} (with {bundled[d.pk]} bundled)" if bundled.get(d.pk) else name
            for name, d in zip(to, deliveries, strict=True)
        )
    elif len(deliveries) == 1:
        message = f"{what} to {to[0]} failed: {first.error}"
    else:
        message = f"{what} to {len(deliveries)} destinations failed: " + "; ".join(
            f"{name}: {d.error}" for name, d in zip(to, deliveries, strict=True)
        )
    timeline_event_record(
        incident=first.incident,
        kind=NOTIFICATION_SENT if sent else NOTIFICATION_FAILED,
        message=message,
        by=None,
        via="notifications",
        data={
            "message_kind": first.message_kind,
            "deliveries": [
                {
                    "delivery": d.pk,
                    "to": name,
                    "kind": d.kind,
                    "user": d.user.get_username() if d.user else None,
                    "attempts": d.attempts,
                    "bundled": bundled.get(d.pk, 0),
                }
                for name, d in zip(to, deliveries, strict=True)
            ],
        },
    )


def connect() -> None:
    incident_declared.connect(notify_declared, dispatch_uid="notifications.declared")
    incident_status_changed.connect(
        tell_channels, dispatch_uid="notifications.tell_channels"
    )
    deliveries_finished.connect(
        record_deliveries, dispatch_uid="notifications.record_deliveries"
    )
