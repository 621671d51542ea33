"""Writing an incident's timeline: every service that changes an incident."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from incidents.live import publish_after_commit
from incidents.models import Incident, TimelineEvent


def record_timeline(
    incident: Incident,
    kind: str,
    message: str,
    *,
    by: User | None,
    via: str,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    event = TimelineEvent.objects.create(
        incident=incident,
        kind=kind,
        message=message,
        actor=by,
        via=via,
        at=at or timezone.now(),
        data=data or {},
    )
    publish_after_commit(event)
    return event
