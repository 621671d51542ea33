"""Celery tasks of the metrics app: thin wrappers over services."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from metrics.services import rollups_refresh, worker_heartbeat_record


@shared_task(bind=True)
def worker_heartbeat_task(self: Any) -> str:
    """Record that the worker running this is alive (beat, every 15 s)."""
    return worker_heartbeat_record(
        worker=self.request.hostname or "unknown", now=timezone.now()
    )


@shared_task
def rollups_refresh_task() -> int:
    """Rebuild the dirty days' rollups and roll up newly settled days (beat,
    every minute)."""
    return rollups_refresh(now=timezone.now())
