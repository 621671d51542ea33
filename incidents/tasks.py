"""Celery tasks of the incident core: thin wrappers over services."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.db.models import Min
from django.utils import timezone

from incidents.exceptions import EventFailedError
from incidents.models import AlertEvent
from incidents.services import (
    alert_events_process,
    heartbeat_check_missed,
    incident_record_missed_targets,
    maintenance_windows_close,
)

logger = logging.getLogger(__name__)

# An event not processed this long after it was stored has lost its message.
RECOVER_AFTER = timedelta(seconds=10)


def enqueue_processing(event: AlertEvent) -> None:
    """Ask a worker to process the event (after commit).

    One quick retry only: the request must not hang on a dead broker. An
    event whose message never left is picked up by `ingest_recover_task`.
    """
    kwargs = (
        {"integration_id": event.integration_id}
        if event.integration_id is not None
        else {"event_id": event.pk}
    )
    ingest_process_task.apply_async(
        kwargs=kwargs,
        retry=True,
        retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
    )


@shared_task(
    # A lost connection or a deadlock victim: the pending events rely on this
    # task (later requests no longer send messages of their own while older
    # events wait), so it tries again soon instead of leaving them to the
    # recovery sweep. An event that failed to apply is tried again the same
    # way, until its last attempt quarantines it.
    autoretry_for=(OperationalError, EventFailedError),
    max_retries=5,
    retry_backoff=1,
    retry_backoff_max=30,
)
def ingest_process_task(
    *, integration_id: int | None = None, event_id: int | None = None
) -> int:
    """Turn pending events into alerts and incidents (queue `ingest`).

    When the pass ran out of time with events left, the rest waits behind
    the other integrations' messages, in a message of its own.
    """
    progress = alert_events_process(integration_id=integration_id, event_id=event_id)
    if progress.more:
        ingest_process_task.delay(integration_id=integration_id)
    return progress.applied


@shared_task
def ingest_recover_task() -> int:
    """Re-drive events whose processing message was lost (beat)."""
    stale = AlertEvent.objects.filter(
        processed_at__isnull=True, received_at__lt=timezone.now() - RECOVER_AFTER
    )
    integrations = stale.filter(integration__isnull=False).values("integration_id")
    count = 0
    for row in integrations.annotate(first=Min("id")):
        ingest_process_task.delay(integration_id=row["integration_id"])
        count += 1
    for event_id in stale.filter(integration__isnull=True).values_list("pk", flat=True):
        ingest_process_task.delay(event_id=event_id)
        count += 1
    if count:
        logger.warning("re-drove processing for %d integrations/reports", count)
    return count


@shared_task
def ingest_heartbeat_check_task() -> int:
    """Open an alert for every heartbeat that missed its ping (beat)."""
    return heartbeat_check_missed(now=timezone.now())


@shared_task
def maintenance_windows_close_task() -> int:
    """List the alerts each ended maintenance window kept quiet (beat)."""
    return maintenance_windows_close(now=timezone.now())


@shared_task
def incident_targets_sweep_task() -> int:
    """Record missed acknowledge/resolve targets (beat, every 30 s)."""
    return incident_record_missed_targets(now=timezone.now())
