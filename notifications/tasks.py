"""Celery tasks of the notifications app (queue `notifications`): thin."""

from __future__ import annotations

from celery import shared_task

from notifications.services import (
    contact_test_round_start_due,
    contact_tests_sweep,
    deliveries_dispatch_due,
    deliveries_recover,
    deliveries_send,
)


# A batch starts no send after 60 s (or half the recovery lease,
# VIGIL_DELIVERY_LEASE_SECONDS, if shorter: see services/sending.py), the rest
# going back to the queue, and each send waits at most VIGIL_OUTBOUND_TIMEOUT
# per step: the limits leave room for the last send.
@shared_task(soft_time_limit=240, time_limit=300)
def deliveries_send_task(*, delivery_ids: list[int]) -> list[str]:
    """Send the deliveries still pending and due, in turn; safe to run twice."""
    return deliveries_send(delivery_ids=delivery_ids)


@shared_task
def deliveries_dispatch_due_task() -> int:
    """Enqueue due deliveries that no message is on its way for (beat)."""
    return deliveries_dispatch_due()


@shared_task
def deliveries_recover_task() -> int:
    """Send again deliveries a dead worker left in `sending` (beat)."""
    return deliveries_recover()


@shared_task
def contact_tests_start_task() -> bool:
    """Start this quarter's contact-method test if due and not started (beat)."""
    return contact_test_round_start_due() is not None


@shared_task
def contact_tests_sweep_task() -> int:
    """Remind, then report to team leads, unconfirmed contact tests (beat)."""
    return contact_tests_sweep()
