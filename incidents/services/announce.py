"""Recording a status update and keeping the incident's update clock.

Every message that tells stakeholders how an incident stands is a status
update: the initial notification, an update posted by hand, and a
transition that announces itself (identified, mitigating, monitoring,
resolved). Each is a `StatusUpdate` row, one timeline entry and the
`status_update_posted` signal, sent inside the same transaction: the
notifications app's receiver writes one delivery per channel and internal
subscriber, so the messages commit with the update or not at all.
Posting one restarts the cadence clock: the next update is due one
`update_cadence` of the severity later, and that stored time is what the
message promises as "Next update".
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User

from incidents.formatting import when
from incidents.models import Incident, StatusUpdate
from incidents.services.timeline import timeline_event_record
from incidents.signals import status_update_posted
from incidents.timeline_kinds import STATUS_UPDATE_POSTED

S = Incident.Status
# A move to one of these is news: it posts a status update.
ANNOUNCED_STATUSES = (S.IDENTIFIED, S.MITIGATING, S.MONITORING, S.RESOLVED)
# Statuses whose incident needs no more updates: the clock stops.
CLOCK_STOPS = (S.RESOLVED, S.CLOSED, S.CANCELLED)
CLOCK_FIELDS = ["next_update_due_at", "update_check_at", "updated_at"]


def _check_at(incident: Incident) -> datetime | None:
    due, snoozed = incident.next_update_due_at, incident.update_reminders_snoozed_until
    if due is None:
        return None
    return max(due, snoozed) if snoozed is not None else due


def update_clock_restart(*, incident: Incident, at: datetime) -> None:
    """Make the next update due one cadence after `at` (or stop the clock).

    The caller holds the incident's row lock and saves `CLOCK_FIELDS`.
    """
    cadence = incident.severity.update_cadence
    running = cadence is not None and incident.status not in CLOCK_STOPS
    incident.next_update_due_at = at + cadence if running and cadence else None
    incident.update_check_at = _check_at(incident)


def update_clock_resync(*, incident: Incident, at: datetime) -> None:
    """Follow a change of severity or status without a new update.

    A stricter cadence brings the due time nearer (never later than one new
    cadence from now); a final status or a severity without cadence stops
    the clock; a reopened incident starts it again.
    """
    cadence = incident.severity.update_cadence
    due = incident.next_update_due_at
    if cadence is None or incident.status in CLOCK_STOPS:
        incident.next_update_due_at = None
    elif due is None or at + cadence < due:
        incident.next_update_due_at = at + cadence
    incident.update_check_at = _check_at(incident)
    incident.save(update_fields=CLOCK_FIELDS)


def update_clock_check_at_set(*, incident: Incident, at: datetime | None) -> None:
    """Set when the reminder sweep next looks at the incident (None: it does
    not, the clock stopped). The caller holds the incident's row lock."""
    incident.update_check_at = at
    incident.save(update_fields=["update_check_at"])


def update_clock_snooze(*, incident: Incident, until: datetime) -> None:
    """Hold the incident's reminders until `until` (the caller records why)."""
    incident.update_reminders_snoozed_until = until
    incident.update_check_at = _check_at(incident)
    incident.save(update_fields=[*CLOCK_FIELDS, "update_reminders_snoozed_until"])


def status_update_record(
    *,
    incident: Incident,
    by: User | None,
    via: str,
    at: datetime,
    message_kind: str,
    text: str,
    impact: str = "",
    next_steps: str = "",
    eta: datetime | None = None,
    audience: str = StatusUpdate.Audience.INTERNAL,
) -> StatusUpdate:
    """Post one status update of the locked incident and tell its audience.

    `message_kind` is the template it is rendered with: initial, update or
    resolution.
    """
    update_clock_restart(incident=incident, at=at)
    incident.save(update_fields=CLOCK_FIELDS)
    update = StatusUpdate.objects.create(
        incident=incident,
        status=incident.status,
        text=text,
        impact=impact,
        next_steps=next_steps,
        eta=eta,
        audience=audience,
        posted_by=by,
        posted_at=at,
        next_update_due_at=incident.next_update_due_at,
    )
    drill = "[DRILL] " if incident.is_drill else ""
    side = update.get_audience_display().split(" (")[0]
    due = incident.next_update_due_at
    event = timeline_event_record(
        incident=incident,
        kind=STATUS_UPDATE_POSTED,
        message=f"{drill}{side} status update: {text}"
        + (f" — next update due {when(due)}" if due else ""),
        by=by,
        via=via,
        at=at,
        data={
            "update": update.pk,
            "audience": audience,
            "message_kind": message_kind,
            "next_update_due_at": due.isoformat() if due else None,
        },
    )
    status_update_posted.send(
        StatusUpdate,
        incident=incident,
        update=update,
        event=event,
        message_kind=message_kind,
    )
    return update
