"""Celery tasks of the incident core: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from incidents.services import incident_record_missed_targets


@shared_task
def incident_targets_sweep_task() -> int:
    """Record missed acknowledge/resolve targets (beat, every 30 s)."""
    return incident_record_missed_targets(now=timezone.now())
