"""Every change to on-call schedules: schedules, layers, overrides, swaps, feeds."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError, RestrictedError

from escalation import oncall
from escalation.exceptions import ScheduleError, ScheduleInUseError
from escalation.models import (
    Layer,
    LayerMember,
    Restriction,
    Schedule,
    ShiftUnit,
)
from escalation.models.schedules import MAX_SHIFT_COUNT, new_token
from incidents.models import Team

MAX_MEMBERS = 200
MAX_RESTRICTIONS = 50
MAX_POSITION = 1000
FIRST_DATE, LAST_DATE = oncall.EARLIEST.date(), oncall.LATEST.date()


@dataclass(frozen=True)
class LayerInput:
    """A layer as a schedule is created or updated with it (see `layer_create`)."""

    name: str
    start_date: date
    handoff_time: time
    members: Sequence[User]
    shift_count: int = 1
    shift_unit: str = ShiftUnit.WEEKS
    restrictions: Sequence[oncall.Window] = ()


def _time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{name!r} is not an IANA time zone (like Europe/Berlin)",
            field="time_zone",
        ) from None
    return name


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ScheduleError("a name has 1 to 100 characters", field="name")
    return name


def validate_instant(value: datetime, field: str) -> datetime:
    """Return `value` if it is an aware instant the schedules answer for."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ScheduleError(f"{field} needs a time zone (an offset or Z)", field=field)
    if not oncall.EARLIEST <= value < oncall.LATEST:
        raise ScheduleError(f"{field} is between 1970 and 2200", field=field)
    return value


def validate_members(
    team: Team, members: Sequence[User], field: str = "members"
) -> None:
    """Refuse users who are not active members of `team`."""
    if len(members) > MAX_MEMBERS:
        raise ScheduleError(f"a layer has at most {MAX_MEMBERS} turns", field="members")
    eligible = set(
        User.objects.filter(
            is_active=True, memberships__team=team, pk__in=[m.pk for m in members]
        ).values_list("pk", flat=True)
    )
    for member in members:
        if member.pk not in eligible:
            raise ScheduleError(
                f"{member.get_username()} is not an active member of {team}",
                field=field,
            )


def _check_layer(
    team: Team,
    *,
    start_date: date,
    shift_count: int,
    shift_unit: str,
    members: Sequence[User] | None,
    restrictions: Sequence[oncall.Window],
) -> None:
    if not FIRST_DATE < start_date < LAST_DATE:
        raise ScheduleError("start_date is between 1970 and 2200", field="start_date")
    if not 1 <= shift_count <= MAX_SHIFT_COUNT:
        raise ScheduleError(
            f"shift_count is between 1 and {MAX_SHIFT_COUNT}", field="shift_count"
        )
    if shift_unit not in ShiftUnit.values:
        raise ScheduleError(
            f"shift_unit is one of {', '.join(ShiftUnit.values)}", field="shift_unit"
        )
    if len(restrictions) > MAX_RESTRICTIONS:
        raise ScheduleError(
            f"a layer has at most {MAX_RESTRICTIONS} restrictions",
            field="restrictions",
        )
    for window in restrictions:
        if not (0 <= window.start_day <= 6 and 0 <= window.end_day <= 6):
            raise ScheduleError(
                "weekdays are 0 (Monday) to 6 (Sunday)", field="restrictions"
            )
    if members is not None:
        validate_members(team, members)


def _set_members(layer: Layer, members: Sequence[User]) -> None:
    layer.members.all().delete()
    LayerMember.objects.bulk_create(
        LayerMember(layer=layer, user=user, position=index)
        for index, user in enumerate(members, start=1)
    )


def _set_restrictions(layer: Layer, windows: Sequence[oncall.Window]) -> None:
    layer.restrictions.all().delete()
    Restriction.objects.bulk_create(
        Restriction(
            layer=layer,
            start_day=w.start_day,
            start_time=w.start_time,
            end_day=w.end_day,
            end_time=w.end_time,
        )
        for w in windows
    )


def _saved(schedule: Schedule) -> Schedule:
    try:
        with transaction.atomic():
            schedule.save()
    except IntegrityError:
        raise ScheduleError(
            f"{schedule.team} already has a schedule named {schedule.name!r}",
            field="name",
        ) from None
    return schedule


@transaction.atomic
def schedule_create(
    *,
    team: Team,
    name: str,
    time_zone: str,
    description: str = "",
    layers: Sequence[LayerInput] = (),
) -> Schedule:
    """Create a schedule for `team`, with its layers (lowest priority first)."""
    schedule = _saved(
        Schedule(
            team=team,
            name=_name(name),
            time_zone=_time_zone(time_zone),
            description=description,
        )
    )
    _create_layers(schedule, layers)
    return schedule


def _create_layers(schedule: Schedule, layers: Sequence[LayerInput]) -> None:
    for position, layer in enumerate(layers, start=1):
        layer_create(
            schedule=schedule,
            position=position,
            name=layer.name,
            start_date=layer.start_date,
            handoff_time=layer.handoff_time,
            shift_count=layer.shift_count,
            shift_unit=layer.shift_unit,
            members=layer.members,
            restrictions=layer.restrictions,
        )


@transaction.atomic
def schedule_update(
    *,
    schedule: Schedule,
    name: str | None = None,
    time_zone: str | None = None,
    description: str | None = None,
    layers: Sequence[LayerInput] | None = None,
) -> Schedule:
    """Change a schedule; `layers`, when given, replace all its layers."""
    if name is not None:
        schedule.name = _name(name)
    if time_zone is not None:
        schedule.time_zone = _time_zone(time_zone)
    if description is not None:
        schedule.description = description
    _saved(schedule)
    if layers is not None:
        schedule.layers.all().delete()
        _create_layers(schedule, layers)
    return schedule


def schedule_delete(*, schedule: Schedule) -> None:
    """Delete a schedule with its layers and overrides, unless something uses it."""
    try:
        with transaction.atomic():
            schedule.delete()
    except (ProtectedError, RestrictedError):
        raise ScheduleInUseError(
            f"{schedule} is still used (by an escalation policy); remove it there first"
        ) from None


def schedule_ical_rotate(*, schedule: Schedule) -> Schedule:
    """Give the schedule's iCal feed a new secret URL; the old one stops working."""
    schedule.ical_token = new_token()
    schedule.save(update_fields=["ical_token"])
    return schedule


@transaction.atomic
def layer_create(
    *,
    schedule: Schedule,
    name: str,
    start_date: date,
    handoff_time: time,
    members: Sequence[User],
    shift_count: int = 1,
    shift_unit: str = ShiftUnit.WEEKS,
    restrictions: Sequence[oncall.Window] = (),
    position: int | None = None,
) -> Layer:
    """Add a rotation to `schedule`; by default above the existing layers.

    The first hand-off is at `handoff_time` on `start_date`, local time in
    the schedule's zone; `members` take turns in order, and may repeat.
    """
    _check_layer(
        schedule.team,
        start_date=start_date,
        shift_count=shift_count,
        shift_unit=shift_unit,
        members=members,
        restrictions=restrictions,
    )
    if position is None:
        highest = schedule.layers.aggregate(top=Max("position"))["top"]
        position = (highest or 0) + 1
    layer = _saved_layer(
        Layer(
            schedule=schedule,
            name=_name(name),
            position=position,
            start_date=start_date,
            handoff_time=handoff_time,
            shift_count=shift_count,
            shift_unit=shift_unit,
        )
    )
    _set_members(layer, members)
    _set_restrictions(layer, restrictions)
    return layer


def _saved_layer(layer: Layer) -> Layer:
    if not 1 <= layer.position <= MAX_POSITION:
        raise ScheduleError(
            f"position is between 1 and {MAX_POSITION}", field="position"
        )
    try:
        with transaction.atomic():
            layer.save()
    except IntegrityError:
        raise ScheduleError(
            f"{layer.schedule} already has a layer at position {layer.position}",
            field="position",
        ) from None
    return layer


@transaction.atomic
def layer_update(
    *,
    layer: Layer,
    name: str | None = None,
    position: int | None = None,
    start_date: date | None = None,
    handoff_time: time | None = None,
    shift_count: int | None = None,
    shift_unit: str | None = None,
    members: Sequence[User] | None = None,
    restrictions: Sequence[oncall.Window] | None = None,
) -> Layer:
    """Change a layer; `members` and `restrictions`, when given, replace its own."""
    if name is not None:
        layer.name = _name(name)
    for attribute, value in (
        ("position", position),
        ("start_date", start_date),
        ("handoff_time", handoff_time),
        ("shift_count", shift_count),
        ("shift_unit", shift_unit),
    ):
        if value is not None:
            setattr(layer, attribute, value)
    _check_layer(
        layer.schedule.team,
        start_date=layer.start_date,
        shift_count=layer.shift_count,
        shift_unit=layer.shift_unit,
        members=members,
        restrictions=restrictions or (),
    )
    _saved_layer(layer)
    if members is not None:
        _set_members(layer, members)
    if restrictions is not None:
        _set_restrictions(layer, restrictions)
    return layer


def layer_delete(*, layer: Layer) -> None:
    """Remove a rotation from its schedule; the layers below show through."""
    layer.delete()
