"""Received events that fail to apply: counted, quarantined, re-driven.

One event that cannot be applied must not hold up its integration's events
behind it (they are applied one integration at a time, in order). It gets
a few attempts, in case what failed was passing; then it is quarantined,
kept with its error for someone to look at, and re-driven by hand once the
cause is fixed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.exceptions import EventStateError
from incidents.models import AlertEvent

# Enough of the error to tell one failure from another; the traceback is
# in the worker's log.
ERROR_CHARS = 2000


def alert_event_fail(*, event: AlertEvent, error: BaseException) -> bool:
    """Record a failed attempt at applying `event`; quarantine it if that
    was its last. Return whether it was quarantined.

    Called by the worker under the lock that lets it apply the event (its
    integration's row, or the report's own), so the count cannot race.
    """
    event.attempts += 1
    event.error = f"{type(error).__name__}: {error}"[:ERROR_CHARS]
    fields = {"attempts": event.attempts, "error": event.error}
    quarantined = event.attempts >= settings.VIGIL_INGEST_MAX_ATTEMPTS
    if quarantined:
        now = timezone.now()
        event.processed_at = event.failed_at = now
        event.outcome = f"failed {event.attempts} times: {event.error}"[:200]
        fields |= {"processed_at": now, "failed_at": now, "outcome": event.outcome}
    AlertEvent.objects.filter(pk=event.pk, processed_at__isnull=True).update(**fields)
    return quarantined


# Re-driving resumes an integration's ingest: whoever may change the
# integration may do it, in the admin and the API alike.
REDRIVE_PERMISSION = "incidents.change_integration"


@transaction.atomic
def alert_event_redrive(*, event: AlertEvent) -> AlertEvent:
    """Put a quarantined event back in line and have a worker apply it.

    It is applied after whatever its integration received before it and is
    still pending, and after everything already applied: re-driving a
    trigger whose resolve was applied since opens an alert to resolve by
    hand. Its attempts start again from zero.
    """
    reset = AlertEvent.objects.filter(pk=event.pk, failed_at__isnull=False).update(
        processed_at=None, failed_at=None, attempts=0, error="", outcome=""
    )
    if not reset:
        raise EventStateError(
            f"only a failed event can be re-driven; this one is {event.status}",
            status=event.status,
        )
    event.refresh_from_db()
    transaction.on_commit(lambda: _enqueue(event), robust=True)
    return event


def _enqueue(event: AlertEvent) -> None:
    from incidents.tasks import enqueue_processing

    enqueue_processing(event)
