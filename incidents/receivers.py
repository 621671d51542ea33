"""What the incident core hears from the apps below it (SPEC §2)."""

from __future__ import annotations

from typing import Any

from incidents.models import TimelineEvent
from incidents.timeline import record_timeline
from notifications.models import Delivery
from notifications.signals import delivery_finished


def record_delivery(sender: Any, *, delivery: Delivery, bundled: int, **_: Any) -> None:
    """Put a sent or failed message about an incident on its timeline."""
    if delivery.incident is None:
        return
    sent = delivery.status == Delivery.Status.SENT
    who = delivery.user.get_username() if delivery.user else None
    where = delivery.channel.name if delivery.channel else delivery.get_kind_display()
    to = f"{who} by {where}" if who else where
    message = f"{delivery.get_message_kind_display()} sent to {to}"
    if bundled:
        message += f" (with {bundled} bundled)"
    if not sent:
        message = (
            f"{delivery.get_message_kind_display()} to {to} failed: {delivery.error}"
        )
    record_timeline(
        delivery.incident,
        TimelineEvent.Kind.NOTIFICATION_SENT
        if sent
        else TimelineEvent.Kind.NOTIFICATION_FAILED,
        message,
        by=None,
        via="notifications",
        data={
            "delivery": delivery.pk,
            "kind": delivery.kind,
            "user": who,
            "attempts": delivery.attempts,
            "bundled": bundled,
        },
    )


def connect() -> None:
    delivery_finished.connect(record_delivery, dispatch_uid="incidents.record_delivery")
