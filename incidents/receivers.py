"""What the incident core hears from the apps below it (SPEC §2), and from
Django's auth (a sign-out closes that session's websockets)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from incidents.live import session_end_publish
from incidents.services.timeline import timeline_event_record
from notifications.models import Delivery
from notifications.signals import deliveries_finished
from notifications.timeline_kinds import NOTIFICATION_FAILED, NOTIFICATION_SENT


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


def close_live_sockets(sender: Any, *, request: HttpRequest, **_: Any) -> None:
    """Close the websockets opened with the session that signs out."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        session_end_publish(session_key)


def connect() -> None:
    deliveries_finished.connect(
        record_deliveries, dispatch_uid="incidents.record_deliveries"
    )
    user_logged_out.connect(
        close_live_sockets, dispatch_uid="incidents.close_live_sockets"
    )
