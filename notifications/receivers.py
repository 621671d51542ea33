"""What notifications does when the incident core and its own deliveries
tell it something: the messages of each status update (the initial
notification, updates, the resolution), cancelling waiting pages once
someone is on it, and the timeline entries of finished deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from incidents.formatting import when
from incidents.models import Incident, StatusUpdate
from incidents.services.timeline import timeline_event_record
from incidents.signals import (
    incident_status_changed,
    person_email_wanted,
    person_notice,
    status_update_posted,
)
from notifications.models import ContactMethod, Delivery, Kind
from notifications.services import deliveries_cancel, notify, person_notify
from notifications.signals import deliveries_finished
from notifications.timeline_kinds import NOTIFICATION_FAILED, NOTIFICATION_SENT

S = Incident.Status


def tell_update(
    sender: Any,
    *,
    incident: Incident,
    update: StatusUpdate,
    message_kind: str,
    **_: Any,
) -> None:
    """Write the update's message to the incident's channels and internal
    subscribers, in the transaction that posts it (one per destination)."""
    notify(
        incident=incident,
        message_kind=message_kind,
        event_key=f"su{update.pk}",
        extra={
            "update": {
                "text": update.text,
                "impact": update.impact,
                "next_steps": update.next_steps,
                "eta": when(update.eta),
                "posted_at": when(update.posted_at),
            },
            "next_update_at": when(update.next_update_due_at),
        },
        now=update.posted_at,
    )


def stop_pages(sender: Any, *, incident: Incident, **_: Any) -> None:
    """Stop waiting pages once someone is on it."""
    to = incident.status
    if to != S.TRIGGERED:
        deliveries_cancel(incident=incident, reason=f"incident {S(to).label.lower()}")


def send_notice(
    sender: Any,
    *,
    user: User,
    event_key: str,
    subject: str,
    text: str,
    incident: Incident | None,
    calendar: str,
    now: datetime | None,
    **_: Any,
) -> bool:
    """E-mail a person the incident core's notice; False if they have no
    verified e-mail address."""
    sent = person_notify(
        user=user,
        event_key=event_key,
        subject=subject,
        text=text,
        incident=incident,
        calendar=calendar,
        now=now,
    )
    return bool(sent)


def email_address(sender: Any, *, user: User, **_: Any) -> str:
    """Return the user's first verified e-mail address, or ""."""
    method = (
        ContactMethod.objects.filter(
            user=user, kind=Kind.EMAIL, verified_at__isnull=False
        )
        .order_by("id")
        .first()
    )
    return method.address if method is not None else ""


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
    status_update_posted.connect(tell_update, dispatch_uid="notifications.update")
    incident_status_changed.connect(stop_pages, dispatch_uid="notifications.stop_pages")
    person_notice.connect(send_notice, dispatch_uid="notifications.send_notice")
    person_email_wanted.connect(
        email_address, dispatch_uid="notifications.email_address"
    )
    deliveries_finished.connect(
        record_deliveries, dispatch_uid="notifications.record_deliveries"
    )
