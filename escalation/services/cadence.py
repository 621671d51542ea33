"""The status update cadence clock: remind, then page, once per due slot.

An open incident whose severity has an `update_cadence` owes a status
update by its `next_update_due_at`. When that time passes with no update,
the sweep reminds the Communications Lead (else the incident commander,
else whoever the escalation's current level pages); if the update is still
missing `VIGIL_UPDATE_OVERDUE_GRACE_MINUTES` later, it pages the incident
commander and the team's leads. An update missing for a whole cadence more
starts the next due slot: one more reminder, one more page.

Each reminder is claimed by a row of `UpdateReminder`, unique per
(incident, due slot, stage), inside the incident's row lock: repeated or
racing sweeps, and a beat message delivered twice, remind once. The sweep
reads only incidents whose `update_check_at` has come (a partial index),
and moves it to the next time something can happen. A snooze holds the
reminders until it ends; resolving, closing or cancelling stops the clock.
A drill is reminded like any incident, and every message and timeline entry
of it says [DRILL].
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from escalation.models import Escalation, UpdateReminder
from escalation.services.levels import level_at, level_reach, levels_of
from escalation.timeline_kinds import UPDATE_OVERDUE_PAGED, UPDATE_REMINDER_SENT
from incidents.formatting import when
from incidents.models import Incident, IncidentRole
from incidents.selectors import (
    incident_lock_update_check_due,
    incident_role_holder,
    incident_update_check_due,
    team_active_lead_users,
)
from incidents.services.announce import update_clock_check_at_set
from incidents.services.timeline import timeline_event_record
from notifications.services import remind_user

Stage = UpdateReminder.Stage
S = Incident.Status
CLOCK_STOPS = (S.RESOLVED, S.CLOSED, S.CANCELLED)
VIA = "cadence"


def update_reminders_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Return the ids of the incidents whose update clock needs a look."""
    due = incident_update_check_due(now=now)
    return list(due.values_list("pk", flat=True)[:limit])


def update_reminders_sweep(*, now: datetime | None = None) -> int:
    """Remind about every overdue status update (beat); return how many."""
    now = now or timezone.now()
    return sum(
        update_reminder_fire(incident_id=pk, now=now)
        for pk in update_reminders_due(now=now)
    )


def _grace() -> timedelta:
    return timedelta(minutes=settings.VIGIL_UPDATE_OVERDUE_GRACE_MINUTES)


@transaction.atomic
def update_reminder_fire(*, incident_id: int, now: datetime | None = None) -> int:
    """Remind (and page) about the incident's overdue update, once per slot.

    Return how many reminders this call sent (0, 1 or 2).
    """
    now = now or timezone.now()
    incident = incident_lock_update_check_due(incident_id=incident_id, now=now)
    if incident is None:  # another sweep has it, or an update came
        return 0
    cadence = incident.severity.update_cadence
    due = incident.next_update_due_at
    if cadence is None or due is None or incident.status in CLOCK_STOPS:
        update_clock_check_at_set(incident=incident, at=None)
        return 0
    slot = due + ((now - due) // cadence) * cadence if now >= due else due
    # A snooze delays the reminders of the slot it covers; it forgives none.
    start = max(slot, incident.update_reminders_snoozed_until or slot)
    fired = 0
    if now >= start and _claim(incident, slot, Stage.REMIND, now):
        _remind(incident, slot, Stage.REMIND, now)
        fired += 1
    if now >= start + _grace() and _claim(incident, slot, Stage.PAGE, now):
        _remind(incident, slot, Stage.PAGE, now)
        fired += 1
    coming = [t for t in (start, start + _grace(), slot + cadence) if t > now]
    update_clock_check_at_set(incident=incident, at=min(coming))
    return fired


def _claim(incident: Incident, slot: datetime, stage: str, now: datetime) -> bool:
    try:
        with transaction.atomic():
            UpdateReminder.objects.create(
                incident=incident, due_at=slot, stage=stage, sent_at=now
            )
    except IntegrityError:
        return False
    return True


def _current_level(incident: Incident, now: datetime) -> list[User]:
    """Return whom the escalation's last paged level pages now."""
    escalation = (
        Escalation.objects.select_related("policy").filter(incident=incident).first()
    )
    if escalation is None or escalation.policy is None:
        return []
    level = level_at(levels_of(escalation.policy), escalation.level)
    return level_reach(level, now).users if level is not None else []


def update_reminder_recipients(
    *, incident: Incident, stage: str, now: datetime
) -> list[User]:
    """Return who is reminded (stage remind) or paged (stage page)."""
    commander = incident_role_holder(
        incident=incident, role=IncidentRole.INCIDENT_COMMANDER
    )
    if stage == Stage.REMIND:
        first = (
            incident_role_holder(
                incident=incident, role=IncidentRole.COMMUNICATIONS_LEAD
            )
            or commander
        )
        users = [first] if first is not None else _current_level(incident, now)
    else:
        leads = team_active_lead_users(team_id=incident.service.team_id)
        users = ([commander] if commander is not None else []) + leads
        users = users or _current_level(incident, now)
    unique: list[User] = []
    for user in users:
        if user.is_active and user not in unique:
            unique.append(user)
    return unique


def _remind(incident: Incident, slot: datetime, stage: str, now: datetime) -> None:
    users = update_reminder_recipients(incident=incident, stage=stage, now=now)
    overdue = int((now - slot).total_seconds() // 60)
    reminder = {"stage": stage, "due_at": when(slot), "overdue": f"{overdue} min"}
    unreachable = [
        user.get_username()
        for user in users
        if not remind_user(
            incident=incident,
            user=user,
            event_key=f"{slot.isoformat()}:{stage}",
            reminder=reminder,
            urgent=stage == Stage.PAGE,
            now=now,
        )
    ]
    names = [user.get_username() for user in users]
    UpdateReminder.objects.filter(incident=incident, due_at=slot, stage=stage).update(
        users=names
    )
    drill = "[DRILL] " if incident.is_drill else ""
    verb = "reminded" if stage == Stage.REMIND else "paged"
    who = ", ".join(names) if names else "nobody (no one holds a role or is on call)"
    message = f"{drill}Status update due at {when(slot)} not posted: {verb} {who}"
    if unreachable:
        message += f" ({', '.join(unreachable)} has no verified contact method)"
    timeline_event_record(
        incident=incident,
        kind=UPDATE_REMINDER_SENT if stage == Stage.REMIND else UPDATE_OVERDUE_PAGED,
        message=message,
        by=None,
        via=VIA,
        at=now,
        data={
            "due_at": slot.isoformat(),
            "stage": stage,
            "users": names,
            "unreachable": unreachable,
        },
    )
