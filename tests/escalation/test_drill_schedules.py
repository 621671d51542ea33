"""Drill schedules: a periodic task in the team's zone, one drill per slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from escalation.exceptions import DrillError
from escalation.models import Drill, DrillSchedule
from escalation.services import (
    drill_schedule_create,
    drill_schedule_delete,
    drill_schedule_update,
    drill_slot_fire,
)
from escalation.services.drill_schedules import drill_slot_offset
from tests.concurrency import in_threads
from tests.escalation.conftest import BERLIN
from tests.factories import declare

# 10:00 in Berlin: 09:00 UTC in winter (CET), 08:00 UTC in summer (CEST).
WINTER_SLOT = datetime(2027, 1, 15, 9, tzinfo=UTC)
SPRING_SLOT = datetime(2027, 4, 15, 8, tzinfo=UTC)


def quarterly(team, **fields) -> DrillSchedule:
    fields.setdefault("time_zone", BERLIN)
    return drill_schedule_create(team=team, name="Quarterly", **fields)


def fire_at(schedule: DrillSchedule, at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        return drill_slot_fire(schedule_id=schedule.pk)


def test_a_schedule_is_kept_as_a_periodic_task_in_its_zone(service, team):
    schedule = quarterly(team)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert task.task == "escalation.tasks.drill_slot_fire_task"
    assert task.kwargs == f'{{"schedule_id": {schedule.pk}}}'
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month) == ("0", "10", "15")
    assert (crontab.month_of_year, str(crontab.timezone)) == ("1,4,7,10", BERLIN)

    drill_schedule_update(
        schedule=schedule, frequency="monthly", hour=14, enabled=False
    )
    task.refresh_from_db()
    assert (task.crontab.month_of_year, task.crontab.hour) == ("*", "14")
    assert not task.enabled

    drill_schedule_delete(schedule=schedule)
    assert not PeriodicTask.objects.filter(pk=task.pk).exists()
    assert CrontabSchedule.objects.exists()  # shared rows stay


def test_a_schedule_takes_its_teams_zone_by_default(service, team):
    team.time_zone = "America/New_York"
    team.save()
    schedule = drill_schedule_create(team=team, name="Default")
    assert (schedule.time_zone, schedule.frequency, schedule.day) == (
        "America/New_York",
        "quarterly",
        15,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"day": 31}, "day"),
        ({"hour": 24}, "hour"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"window": timedelta(days=8)}, "window"),
        ({"mode": "panic"}, "mode"),
    ],
)
def test_a_schedule_with_a_bad_setting_is_refused_naming_it(
    service, team, fields, field
):
    with pytest.raises(DrillError) as refused:
        quarterly(team, **fields)
    assert refused.value.details["field"] == field
    assert not PeriodicTask.objects.filter(task__contains="drill").exists()


def test_a_slot_stays_at_ten_local_across_daylight_saving_time(service, team):
    schedule = quarterly(team)
    assert fire_at(schedule, WINTER_SLOT) == 1
    assert fire_at(schedule, SPRING_SLOT + timedelta(minutes=1)) == 1
    slots = list(Drill.objects.order_by("slot").values_list("slot", flat=True))
    assert slots == [WINTER_SLOT, SPRING_SLOT]
    # Begun at their slots, with no window: the first drill is running.
    assert Drill.objects.get(slot=WINTER_SLOT).state == "running"


def test_a_slot_fires_once_whatever_copies_of_its_message_arrive(service, team):
    schedule = quarterly(team)
    assert fire_at(schedule, WINTER_SLOT) == 1
    assert fire_at(schedule, WINTER_SLOT + timedelta(minutes=5)) == 0
    assert fire_at(schedule, WINTER_SLOT + timedelta(hours=3)) == 0
    assert Drill.objects.count() == 1


def test_a_slot_message_a_day_late_starts_no_drill_by_surprise(service, team):
    schedule = quarterly(team)
    assert fire_at(schedule, WINTER_SLOT + timedelta(days=2)) == 0
    assert not Drill.objects.exists()


def test_a_window_delays_the_drill_by_the_same_offset_for_every_copy(service, team):
    schedule = quarterly(team, window=timedelta(hours=2))
    offset = drill_slot_offset(schedule=schedule, slot=WINTER_SLOT)
    assert timedelta(0) <= offset <= timedelta(hours=2)
    assert offset == drill_slot_offset(schedule=schedule, slot=WINTER_SLOT)
    assert offset != drill_slot_offset(schedule=schedule, slot=SPRING_SLOT)
    fire_at(schedule, WINTER_SLOT)
    drill = Drill.objects.get()
    assert (drill.due_at, drill.state) == (WINTER_SLOT + offset, "scheduled")


def test_a_schedule_without_a_scenario_takes_the_library_in_turn(service, team):
    schedule = quarterly(team)
    fire_at(schedule, WINTER_SLOT)
    fire_at(schedule, SPRING_SLOT)
    first, second = Drill.objects.order_by("slot")
    assert first.scenario != second.scenario


def test_a_scheduled_drill_during_a_real_p0_is_postponed_and_says_why(service, team):
    schedule = quarterly(team)
    with time_machine.travel(WINTER_SLOT - timedelta(minutes=5), tick=False):
        real = declare(service, "P0", title="Real outage")
    fire_at(schedule, WINTER_SLOT)
    drill = Drill.objects.get()
    assert drill.state == "postponed"
    assert drill.reason.startswith(f"Postponed: real incident {real.public_id} (P0)")
    assert drill.due_at == WINTER_SLOT + timedelta(minutes=15)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_beats_record_one_drill_per_slot(service, team):
    schedule = quarterly(team)

    def beat(n: int) -> None:
        fire_at(schedule, WINTER_SLOT + timedelta(seconds=n))

    assert in_threads(4, beat) == []
    assert Drill.objects.filter(schedule=schedule).count() == 1
    assert Drill.objects.get().state == "running"
