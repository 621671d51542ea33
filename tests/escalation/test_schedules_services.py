"""The schedule services and selectors the escalation engine calls."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from django.contrib.auth.models import User

from escalation.exceptions import ScheduleError
from escalation.models import Layer, Override
from escalation.oncall import Window
from escalation.selectors import (
    schedule_list,
    schedule_oncall,
    schedule_shifts,
    user_on_call_throughout,
)
from escalation.services import (
    LayerInput,
    calendar_feed_get_or_create,
    calendar_feed_rotate,
    layer_create,
    layer_delete,
    layer_update,
    override_create,
    override_delete,
    schedule_create,
    schedule_swap,
    schedule_update,
)
from tests.escalation.conftest import at

HOUR = timedelta(hours=1)


def names(users: list[User]) -> list[str]:
    return [user.username for user in users]


def test_schedule_oncall_returns_the_users_in_turn(schedule, alice, bob):
    assert schedule_oncall(schedule=schedule, at=at("2026-03-02T08:59")) == []
    assert schedule_oncall(schedule=schedule, at=at("2026-03-02T09:00")) == [alice]
    assert schedule_oncall(schedule=schedule, at=at("2026-03-09T09:00")) == [bob]
    assert schedule_oncall(schedule=schedule, at=at("2026-03-16T08:59")) == [bob]
    # Across the spring change the hand-off stays at 09:00 local.
    assert schedule_oncall(schedule=schedule, at=at("2026-03-30T08:59")) == [bob]
    assert schedule_oncall(schedule=schedule, at=at("2026-03-30T09:00")) == [alice]


def test_schedule_shifts_are_the_next_ones_with_the_current_first(schedule, alice, bob):
    found = schedule_shifts(schedule=schedule, start=at("2026-03-25T12:00"), count=3)
    assert [(s.start, s.user_id) for s in found] == [
        (at("2026-03-23T09:00"), bob.pk),
        (at("2026-03-30T09:00"), alice.pk),
        (at("2026-04-06T09:00"), bob.pk),
    ]
    assert found[0].end - found[0].start == 167 * HOUR
    assert {s.layer for s in found} == {schedule.layers.get().pk}


def test_changing_the_time_zone_moves_the_handoffs(schedule, alice):
    schedule_update(schedule=schedule, time_zone="America/New_York")
    ny = "America/New_York"
    assert schedule_oncall(schedule=schedule, at=at("2026-03-02T08:59", ny)) == []
    assert schedule_oncall(schedule=schedule, at=at("2026-03-02T09:00", ny)) == [alice]


def test_schedule_list_is_scoped_to_the_users_teams(schedule, responder, outsider):
    assert list(schedule_list(user=responder)) == [schedule]
    assert list(schedule_list(user=outsider)) == []


def test_an_inactive_member_cannot_join_a_layer(schedule, alice, bob, carol):
    User.objects.filter(pk=carol.pk).update(is_active=False)
    carol.refresh_from_db()
    with pytest.raises(ScheduleError, match="carol is not an active member"):
        layer_update(layer=schedule.layers.get(), members=[alice, carol])
    assert [m.user for m in schedule.layers.get().members.all()] == [alice, bob]


def test_layer_services_add_change_and_remove_rotations(schedule, alice, bob, carol):
    top = layer_create(
        schedule=schedule,
        name="Nights",
        start_date=date(2026, 3, 2),
        handoff_time=time(18),
        members=[carol],
        shift_unit="days",
        restrictions=[Window(d, time(18), (d + 1) % 7, time(8)) for d in range(7)],
    )
    assert top.position == 2
    assert schedule_oncall(schedule=schedule, at=at("2026-03-03T20:00")) == [carol]
    assert schedule_oncall(schedule=schedule, at=at("2026-03-03T12:00")) == [alice]

    layer_update(layer=top, members=[bob], restrictions=[])
    assert schedule_oncall(schedule=schedule, at=at("2026-03-03T12:00")) == [bob]
    with pytest.raises(ScheduleError, match="already has a layer at position 1"):
        layer_update(layer=top, position=1)

    layer_delete(layer=top)
    assert schedule_oncall(schedule=schedule, at=at("2026-03-03T20:00")) == [alice]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"shift_count": 0}, "shift_count"),
        ({"shift_unit": "months"}, "shift_unit"),
        ({"start_date": date(1969, 12, 1)}, "start_date"),
        ({"restrictions": [Window(7, time(9), 0, time(10))]}, "restrictions"),
        ({"name": "  "}, "name"),
    ],
)
def test_a_bad_layer_is_refused_with_the_field(team, alice, changes, field):
    fields = {
        "name": "L",
        "start_date": date(2026, 3, 2),
        "handoff_time": time(9),
        "members": [alice],
        **changes,
    }
    with pytest.raises(ScheduleError) as refused:
        schedule_create(
            team=team, name="S", time_zone="UTC", layers=[LayerInput(**fields)]
        )
    assert refused.value.details["field"] == field


def test_a_swap_needs_two_people_and_two_separate_shifts(schedule, alice, bob):
    week = {
        "first_user": alice,
        "first_start": at("2026-03-02T09:00"),
        "first_end": at("2026-03-09T09:00"),
    }
    with pytest.raises(ScheduleError, match="between two people"):
        schedule_swap(
            schedule=schedule,
            second_user=alice,
            second_start=at("2026-03-16T09:00"),
            second_end=at("2026-03-23T09:00"),
            **week,
        )
    with pytest.raises(ScheduleError, match="overlap"):
        schedule_swap(
            schedule=schedule,
            second_user=bob,
            second_start=at("2026-03-08T09:00"),
            second_end=at("2026-03-10T09:00"),
            **week,
        )
    assert not Override.objects.exists()


def test_part_of_a_shift_can_be_swapped(schedule, alice, bob):
    given, taken = schedule_swap(
        schedule=schedule,
        first_user=alice,
        first_start=at("2026-03-04T09:00"),
        first_end=at("2026-03-05T09:00"),
        second_user=bob,
        second_start=at("2026-03-11T09:00"),
        second_end=at("2026-03-12T09:00"),
        reason="school run",
    )
    assert (given.user, given.covered_user, given.swap_of) == (bob, alice, taken)
    assert (taken.user, taken.covered_user, taken.swap_of) == (alice, bob, given)
    found = schedule_shifts(schedule=schedule, start=at("2026-03-03T00:00"), count=4)
    assert [(s.user_id, s.end) for s in found] == [
        (alice.pk, at("2026-03-04T09:00")),
        (bob.pk, at("2026-03-05T09:00")),
        (alice.pk, at("2026-03-09T09:00")),
        (bob.pk, at("2026-03-11T09:00")),
    ]
    override_delete(override=given)
    assert not Override.objects.exists()


def test_user_on_call_throughout_sees_overrides(schedule, alice, bob):
    span = {"start": at("2026-03-03T09:00"), "end": at("2026-03-04T09:00")}
    assert user_on_call_throughout(schedule=schedule, user=alice, **span)
    override_create(
        schedule=schedule,
        user=bob,
        start=at("2026-03-03T12:00"),
        end=at("2026-03-03T13:00"),
    )
    assert not user_on_call_throughout(schedule=schedule, user=alice, **span)


def test_an_override_outside_the_supported_years_is_refused(schedule, bob):
    with pytest.raises(ScheduleError, match="between 1970 and 2200"):
        override_create(
            schedule=schedule,
            user=bob,
            start=at("2300-01-01T00:00"),
            end=at("2300-01-02T00:00"),
        )


def test_a_calendar_feed_is_made_once_and_rotated(alice):
    feed = calendar_feed_get_or_create(user=alice)
    assert calendar_feed_get_or_create(user=alice).token == feed.token
    assert calendar_feed_rotate(user=alice).token != feed.token


def test_replacing_the_layers_renumbers_them_from_one(schedule, alice, bob):
    layer = LayerInput(
        name="Daily",
        start_date=date(2026, 3, 2),
        handoff_time=time(9),
        members=[bob],
        shift_unit="days",
    )
    schedule_update(schedule=schedule, layers=[layer, layer])
    assert list(Layer.objects.values_list("name", "position")) == [
        ("Daily", 1),
        ("Daily", 2),
    ]
