"""Celery tasks of the escalation app (queue `escalation`): thin."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from escalation.services import (
    drill_slot_fire,
    drills_sweep,
    escalation_expire_acknowledgements,
    escalation_fire_due,
    escalations_sweep,
    update_reminders_sweep,
)


@shared_task
def escalation_step_task(*, escalation_id: int) -> int:
    """Fire the escalation's step if it is due (sent with the step's ETA)."""
    return escalation_fire_due(escalation_id=escalation_id)


@shared_task
def escalations_sweep_task() -> int:
    """Fire every due step that its task did not (beat)."""
    return escalations_sweep()


@shared_task
def escalation_ack_expiry_sweep_task() -> int:
    """Trigger again incidents whose acknowledgement expired (beat, every 10 s)."""
    return escalation_expire_acknowledgements(now=timezone.now())


@shared_task
def update_reminders_sweep_task() -> int:
    """Remind about overdue status updates, once per due slot (beat)."""
    return update_reminders_sweep()


@shared_task
def drill_slot_fire_task(*, schedule_id: int) -> int:
    """Record (and begin, if due) the drill of a schedule's slot (its crontab)."""
    return drill_slot_fire(schedule_id=schedule_id)


@shared_task
def drills_sweep_task() -> int:
    """Begin due and postponed drills, end finished and timed-out ones (beat)."""
    return drills_sweep()
