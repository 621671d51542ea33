"""Writing an incident's timeline: every service that changes an incident,
in this app or another, writes its entry through here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from incidents.live import publish_after_commit
from incidents.models import Incident, TimelineEvent


def timeline_event_record(
    *,
    incident: Incident,
    kind: str,
    message: str,
    by: User | None,
    via: str,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append an event of `kind` (a registered timeline kind) to the
    incident's timeline and publish it live once the transaction commits."""
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
