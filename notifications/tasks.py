"""Celery tasks of the notifications app (queue `notifications`): thin."""

from __future__ import annotations

from celery import shared_task

from notifications.services import (
    deliveries_dispatch_due,
    deliveries_recover,
    delivery_send,
)


@shared_task(soft_time_limit=45, time_limit=60)
def delivery_send_task(*, delivery_id: int) -> str:
    """Send one delivery if it is still pending and due; safe to run twice."""
    return delivery_send(delivery_id=delivery_id)


@shared_task
def deliveries_dispatch_due_task() -> int:
    """Enqueue due deliveries that no message is on its way for (beat)."""
    return deliveries_dispatch_due()


@shared_task
def deliveries_recover_task() -> int:
    """Send again deliveries a dead worker left in `sending` (beat)."""
    return deliveries_recover()
