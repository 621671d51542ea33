"""Posting a status update by hand, and snoozing the update reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.exceptions import IncidentError, StatusUpdateStateError
from incidents.models import Incident, StatusUpdate
from incidents.services.announce import (
    status_update_record,
    update_clock_snooze,
)
from incidents.services.incident import incident_transition, locked
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import UPDATE_REMINDERS_SNOOZED

S = Incident.Status
MAX_TEXT = 5_000
# A snooze longer than this is a clock switched off, which the SOPs do not
# allow for an open incident.
MAX_SNOOZE = timedelta(hours=24)


def _checked_text(name: str, value: str, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise IncidentError(f"a status update needs {name}", field=name)
    if len(value) > MAX_TEXT:
        raise IncidentError(f"{name} is longer than {MAX_TEXT} characters", field=name)
    return value


@transaction.atomic
def status_update_post(
    *,
    incident: Incident,
    actor: User | None,
    text: str,
    impact: str = "",
    next_steps: str = "",
    eta: datetime | None = None,
    audience: str = StatusUpdate.Audience.INTERNAL,
    status: str | None = None,
    via: str = "api",
) -> StatusUpdate:
    """Post a status update: record it, tell its audience, restart the clock.

    With `status`, the incident moves there first (the update announces the
    move: one message, not two). Resolving this way sends the resolution.
    """
    text = _checked_text("text", text, required=True)
    impact = _checked_text("impact", impact)
    next_steps = _checked_text("next_steps", next_steps)
    if audience not in StatusUpdate.Audience.values:
        raise IncidentError(f"{audience!r} is not an audience", field="audience")
    now = timezone.now()
    if eta is not None and eta < now - timedelta(minutes=1):
        raise IncidentError("eta is in the past", field="eta")
    if status is not None and status != incident.status:
        incident_transition(
            incident=incident, to=status, by=actor, via=via, reason=text, announce=False
        )
    incident = locked(incident)
    if incident.status in (S.RESOLVED, S.CLOSED, S.CANCELLED) and status is None:
        raise StatusUpdateStateError(
            f"incident {incident.public_id} is {incident.status}; reopen it to "
            "post an update",
            current=incident.status,
        )
    kind = "resolution" if incident.status == S.RESOLVED else "update"
    return status_update_record(
        incident=incident,
        by=actor,
        via=via,
        at=timezone.now(),
        message_kind=kind,
        text=text,
        impact=impact,
        next_steps=next_steps,
        eta=eta,
        audience=audience,
    )


@transaction.atomic
def update_reminders_snooze(
    *,
    incident: Incident,
    by: User | None,
    until: datetime,
    reason: str,
    via: str = "api",
) -> Incident:
    """Hold the incident's update reminders until `until`, saying why."""
    reason = reason.strip()
    if not reason:
        raise IncidentError("snoozing reminders needs a reason", field="reason")
    now = timezone.now()
    if not now < until <= now + MAX_SNOOZE:
        raise IncidentError(
            "a snooze ends in the future, within 24 hours", field="until"
        )
    incident = locked(incident)
    if incident.update_check_at is None:
        raise StatusUpdateStateError(
            f"incident {incident.public_id} has no update clock running "
            "(no cadence for its severity, or it is over)",
            current=incident.status,
        )
    update_clock_snooze(incident=incident, until=until)
    timeline_event_record(
        incident=incident,
        kind=UPDATE_REMINDERS_SNOOZED,
        message=(
            f"Update reminders snoozed until {timezone.localtime(until):%H:%M}"
            f" — {reason}"
        ),
        by=by,
        via=via,
        at=now,
        data={"until": until.isoformat(), "reason": reason},
    )
    return incident
