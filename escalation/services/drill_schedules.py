"""Drill schedules: a team's drills, quarterly or monthly, in its time zone.

Each schedule is kept as a django-celery-beat periodic task with a crontab
in the schedule's time zone (so a 10:00 drill stays at 10:00 across daylight
saving time), created, changed and deleted by these services with the
schedule. When the crontab fires, `drill_slot_fire` works out the slot it
belongs to (the latest time the crontab names) and records that slot's
drill: the `Drill` row is unique per (schedule, slot), so a beat that
restarts, a message delivered twice or two beats racing record it once.
The drill begins at the slot plus an offset within the schedule's window,
the same for every copy of the slot's message (derived from the slot).
"""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

from cronsim import CronSim
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from escalation.exceptions import DrillError
from escalation.models import Drill, DrillMode, DrillScenario, DrillSchedule
from escalation.services.drills import drill_begin, drill_service
from incidents.models import Team

TASK = "escalation.tasks.drill_slot_fire_task"
QUARTER_MONTHS = "1,4,7,10"
# A slot's message this late is stale (beat was down for a day): its drill
# is not started by surprise; the next slot is.
SLOT_GRACE = timedelta(days=1)
SETTINGS = (
    "name",
    "scenario",
    "frequency",
    "day",
    "hour",
    "minute",
    "time_zone",
    "window",
    "mode",
    "enabled",
)
RANGES = {"day": (1, 28), "hour": (0, 23), "minute": (0, 59)}


def drill_schedule_cron(schedule: DrillSchedule) -> str:
    """Return the schedule's crontab line (minute hour day month weekday)."""
    months = (
        QUARTER_MONTHS
        if schedule.frequency == DrillSchedule.Frequency.QUARTERLY
        else "*"
    )
    return f"{schedule.minute} {schedule.hour} {schedule.day} {months} *"


def drill_schedule_check(*, schedule: DrillSchedule) -> None:
    """Raise DrillError unless the schedule's settings make a usable schedule."""
    for field, (low, high) in RANGES.items():
        value = getattr(schedule, field)
        if not isinstance(value, int) or not low <= value <= high:
            raise DrillError(f"{field} must be from {low} to {high}", field=field)
    if schedule.frequency not in DrillSchedule.Frequency.values:
        raise DrillError(
            f"{schedule.frequency!r} is not a frequency", field="frequency"
        )
    if schedule.mode not in DrillMode.values:
        raise DrillError(f"{schedule.mode!r} is not a drill mode", field="mode")
    try:
        zoneinfo.ZoneInfo(schedule.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DrillError(
            f"{schedule.time_zone!r} is not an IANA time zone", field="time_zone"
        ) from None
    if not timedelta(0) <= schedule.window <= timedelta(days=7):
        raise DrillError("the window must be from 0 to 7 days", field="window")
    named = DrillSchedule.objects.filter(team=schedule.team, name=schedule.name)
    if named.exclude(pk=schedule.pk).exists():
        raise DrillError(
            f"team {schedule.team} has a drill schedule {schedule.name!r} already",
            field="name",
        )
    if schedule.scenario is None and not DrillScenario.objects.exists():
        raise DrillError("the scenario library is empty", field="scenario")
    drill_service(scenario=schedule.scenario or DrillScenario(), team=schedule.team)


def _periodic_task_sync(schedule: DrillSchedule) -> None:
    """Create or change the schedule's periodic task to match it."""
    months = drill_schedule_cron(schedule).split()[3]
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(schedule.minute),
        hour=str(schedule.hour),
        day_of_month=str(schedule.day),
        month_of_year=months,
        day_of_week="*",
        timezone=zoneinfo.ZoneInfo(schedule.time_zone),
    )
    task = schedule.periodic_task or PeriodicTask(task=TASK)
    task.name = f"Drill schedule {schedule.pk}: {schedule}"[:200]
    task.crontab = crontab
    task.kwargs = json.dumps({"schedule_id": schedule.pk})
    task.enabled = schedule.enabled
    task.description = "Records the drill of each slot (escalation drill schedules)."
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        schedule.save(update_fields=["periodic_task"])


@transaction.atomic
def drill_schedule_create(
    *, team: Team, name: str, time_zone: str = "", **fields: Any
) -> DrillSchedule:
    """Create a team's drill schedule and its periodic task.

    Quarterly on the 15th at 10:00 unless told otherwise, in `time_zone`
    (the team's by default).
    """
    unknown = set(fields) - set(SETTINGS)
    if unknown:
        raise DrillError(f"unknown settings: {', '.join(sorted(unknown))}")
    schedule = DrillSchedule(
        team=team, name=name, time_zone=time_zone or team.time_zone, **fields
    )
    drill_schedule_check(schedule=schedule)
    schedule.save()
    _periodic_task_sync(schedule)
    return schedule


@transaction.atomic
def drill_schedule_update(*, schedule: DrillSchedule, **changes: Any) -> DrillSchedule:
    """Change a drill schedule; its periodic task follows."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise DrillError(f"unknown settings: {', '.join(sorted(unknown))}")
    schedule = DrillSchedule.objects.select_for_update().get(pk=schedule.pk)
    for field, value in changes.items():
        setattr(schedule, field, value)
    drill_schedule_check(schedule=schedule)
    schedule.save()
    _periodic_task_sync(schedule)
    return schedule


@transaction.atomic
def drill_schedule_delete(*, schedule: DrillSchedule) -> None:
    """Delete a drill schedule and its periodic task (its drills stay)."""
    if schedule.periodic_task_id is not None:
        PeriodicTask.objects.filter(pk=schedule.periodic_task_id).delete()
    schedule.delete()


def drill_schedule_slot(*, schedule: DrillSchedule, at: datetime) -> datetime:
    """Return the schedule's latest slot at or before `at` (in UTC)."""
    zone = zoneinfo.ZoneInfo(schedule.time_zone)
    local = (at.replace(microsecond=0) + timedelta(seconds=1)).astimezone(zone)
    return next(CronSim(drill_schedule_cron(schedule), local, reverse=True)).astimezone(
        UTC
    )


def drill_schedule_next(*, schedule: DrillSchedule, after: datetime) -> datetime:
    """Return the schedule's first slot after `after` (in UTC)."""
    zone = zoneinfo.ZoneInfo(schedule.time_zone)
    return next(
        CronSim(drill_schedule_cron(schedule), after.astimezone(zone))
    ).astimezone(UTC)


def drill_slot_offset(*, schedule: DrillSchedule, slot: datetime) -> timedelta:
    """Return how long after `slot` its drill begins: random within the
    window, but derived from the slot, so every copy agrees."""
    seconds = int(schedule.window.total_seconds())
    if seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{schedule.pk}:{slot.isoformat()}".encode()).digest()
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % (seconds + 1))


def drill_schedule_scenario(*, schedule: DrillSchedule) -> DrillScenario:
    """Return the scenario of the schedule's next drill: its own, else the
    library's next in turn."""
    if schedule.scenario is not None:
        return schedule.scenario
    library = list(DrillScenario.objects.order_by("name", "pk"))
    if not library:
        raise DrillError("the scenario library is empty", field="scenario")
    return library[Drill.objects.filter(schedule=schedule).count() % len(library)]


def drill_slot_fire(*, schedule_id: int, now: datetime | None = None) -> int:
    """Record the drill of the schedule's current slot, once; return 1 if
    this call recorded it. Begin it at once if it is due already.
    """
    now = now or timezone.now()
    schedule = (
        DrillSchedule.objects.select_related("team", "scenario")
        .filter(pk=schedule_id, enabled=True)
        .first()
    )
    if schedule is None:
        return 0
    slot = drill_schedule_slot(schedule=schedule, at=now)
    if now - slot > SLOT_GRACE:
        return 0
    scenario = drill_schedule_scenario(schedule=schedule)
    try:
        with transaction.atomic():
            drill = Drill.objects.create(
                scenario=scenario,
                team=schedule.team,
                service=drill_service(scenario=scenario, team=schedule.team),
                schedule=schedule,
                slot=slot,
                mode=schedule.mode,
                due_at=slot + drill_slot_offset(schedule=schedule, slot=slot),
            )
    except IntegrityError:  # the slot's drill is recorded already
        return 0
    if drill.due_at <= now:
        drill_begin(drill_id=drill.pk, now=now)
    return 1
