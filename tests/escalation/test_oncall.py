"""Who is on call when: escalation.oncall against a plain reference, and by example.

The reference below is written the slow, obvious way: a local time is found
by trying every UTC offset the zone used that week (and, in a gap, by walking
forward a minute then a second at a time); a rotation is walked hand-off by
hand-off from its start. Hypothesis compares the real thing with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import assume, given
from hypothesis import strategies as st

from escalation.oncall import (
    LayerSpec,
    OverrideSpec,
    ScheduleSpec,
    Shift,
    Window,
    local_instant,
    next_shifts,
    oncall_at,
    shifts,
    shifts_overlapping,
)
from tests.escalation.conftest import at

local = datetime.fromisoformat  # a naive local time, as layers start

DST_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST
    "America/Santiago",  # changes at midnight
    "America/Havana",
    "Pacific/Chatham",
    "America/St_Johns",
    "Africa/Casablanca",
    "Antarctica/Troll",  # two-hour DST
    "Pacific/Apia",  # skipped a whole day in 2011
]
ALL_ZONES = sorted(available_timezones())
SECOND, MINUTE, HOUR, DAY = (
    timedelta(seconds=1),
    timedelta(minutes=1),
    timedelta(hours=1),
    timedelta(days=1),
)
UNIT = {"hours": HOUR, "days": DAY, "weeks": timedelta(weeks=1)}


# --- The reference ------------------------------------------------------------------


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


def ref_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The first instant at which the clock shows `local` or later."""
    guess = local.replace(tzinfo=UTC)
    offsets = {(guess + HOUR * h).astimezone(zone).utcoffset() for h in range(-30, 31)}
    exact = [
        guess - offset
        for offset in offsets
        if offset is not None and wall(guess - offset, zone) == local
    ]
    if exact:
        return min(exact)
    moment = guess - max(o for o in offsets if o is not None)
    for step in (MINUTE, SECOND):
        while wall(moment + step, zone) < local:
            moment += step
    return moment + SECOND


def ref_in_windows(
    windows: tuple[Window, ...], zone: ZoneInfo, moment: datetime
) -> bool:
    here = wall(moment, zone)
    monday = datetime.combine(here.date() - timedelta(days=here.weekday()), time())
    for weeks in (-2, -1, 0, 1):
        week = monday + timedelta(weeks=weeks)
        for w in windows:
            begin = week + timedelta(
                days=w.start_day, hours=w.start_time.hour, minutes=w.start_time.minute
            )
            end = week + timedelta(
                days=w.end_day, hours=w.end_time.hour, minutes=w.end_time.minute
            )
            if end <= begin:
                end += timedelta(weeks=1)
            if ref_instant(begin, zone) <= moment < ref_instant(end, zone):
                return True
    return False


def ref_turn(layer: LayerSpec, zone: ZoneInfo, moment: datetime) -> int | None:
    """Walk the rotation from its start, one hand-off at a time."""
    step = UNIT[layer.shift_unit] * layer.shift_count
    if moment < ref_instant(layer.start, zone):
        return None
    turn = 0
    if layer.shift_unit == "hours":
        handoff = ref_instant(layer.start, zone)
        while handoff + step <= moment:
            handoff, turn = handoff + step, turn + 1
    else:
        local = layer.start
        while ref_instant(local + step, zone) <= moment:
            local, turn = local + step, turn + 1
    return turn


def ref_layer_user(layer: LayerSpec, zone: ZoneInfo, moment: datetime) -> int | None:
    turn = ref_turn(layer, zone, moment) if layer.members else None
    if turn is None:
        return None
    if layer.restrictions and not ref_in_windows(layer.restrictions, zone, moment):
        return None
    return layer.members[turn % len(layer.members)]


def ref_oncall(spec: ScheduleSpec, moment: datetime) -> list[int]:
    zone = ZoneInfo(spec.time_zone)
    user = None
    for layer in sorted(spec.layers, key=lambda layer: layer.position, reverse=True):
        user = ref_layer_user(layer, zone, moment)
        if user is not None:
            break
    for o in spec.overrides:
        covers = o.covered_user_id is None or (
            user is not None and o.covered_user_id == user
        )
        if o.start <= moment < o.end and covers:
            user = o.user_id
    return [] if user is None else [user]


# --- Strategies ---------------------------------------------------------------------


@cache
def transitions(zone_name: str, year: int) -> tuple[datetime, ...]:
    """The instants the zone's UTC offset changes in `year`, to the second."""
    zone = ZoneInfo(zone_name)
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        later = moment + DAY / 2
        if moment.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            low, high = moment, later
            while high - low > SECOND:
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                same = (
                    middle.astimezone(zone).utcoffset()
                    == low.astimezone(zone).utcoffset()
                )
                low, high = (middle, high) if same else (low, middle)
            found.append(high)
        moment = later
    return tuple(found)


# Two draws in three from zones with DST, the third from every zone there is.
zones = (
    st.sampled_from(DST_ZONES) | st.sampled_from(DST_ZONES) | st.sampled_from(ALL_ZONES)
)
jitter = st.one_of(
    st.sampled_from([0, -1, 1, -1800, 1800, -3600, 3600]),
    st.integers(-6 * 3600, 6 * 3600),
    st.integers(-3 * 86400, 3 * 86400),
).map(lambda seconds: SECOND * seconds)


@st.composite
def moments(draw: st.DrawFn, zone_name: str) -> datetime:
    """An instant in 2000 to 2035, often within three days of a clock change."""
    year = draw(st.integers(2000, 2035))
    changes = transitions(zone_name, year)
    if changes and draw(st.integers(0, 3)):
        return draw(st.sampled_from(changes)) + draw(jitter)
    start = datetime(year, 1, 1, tzinfo=UTC)
    return start + SECOND * draw(st.integers(0, 365 * 86400))


clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0, fold=0))


def tricky_locals(zone_name: str, near: datetime) -> st.SearchStrategy[datetime]:
    """Whole-minute local times in or by the gap or fold of a change near `near`."""
    zone = ZoneInfo(zone_name)
    close = [t for t in transitions(zone_name, near.year) if abs(t - near) < 4 * DAY]
    if not close:
        return st.nothing()
    before, after = wall(close[0] - SECOND, zone) + SECOND, wall(close[0], zone)
    low = (min(before, after) - 30 * MINUTE).replace(second=0)
    minutes = int((max(before, after) + 30 * MINUTE - low) / MINUTE)
    return st.integers(0, minutes).map(lambda m: low + MINUTE * m)


def local_times(zone_name: str, near: datetime) -> st.SearchStrategy[datetime]:
    """Local times on the day of `near`, often inside or next to a gap or fold."""
    day = wall(near, ZoneInfo(zone_name)).date()
    anywhere = clock_times.map(lambda t: datetime.combine(day, t))
    return st.one_of(tricky_locals(zone_name, near), anywhere)


windows = st.builds(
    Window,
    st.integers(0, 6),
    clock_times,
    st.integers(0, 6),
    clock_times,
)


@st.composite
def layers(
    draw: st.DrawFn,
    zone_name: str,
    near: datetime,
    *,
    ident: int = 1,
    restricted: bool | None = False,
    members: int = 1,
) -> LayerSpec:
    """A rotation whose first hand-off is a little before (or after) `near`."""
    unit = draw(st.sampled_from(["hours", "days", "weeks"]))
    count = draw(st.integers(1, {"hours": 48, "days": 14, "weeks": 3}[unit]))
    period = DAY * {"hours": 0, "days": count, "weeks": 7 * count}[unit]
    # Often a hand-off falls right in a gap or a fold: k turns after the start.
    aligned = tricky_locals(zone_name, near).flatmap(
        lambda local: st.integers(0, 8).map(lambda k: local - period * k)
    )
    day = wall(near, ZoneInfo(zone_name)).date()
    plain = st.builds(
        lambda back, t: datetime.combine(day - DAY * back, t),
        st.one_of(st.integers(-3, 60), st.integers(0, 8).map(lambda w: 7 * w)),
        clock_times,
    )
    if restricted is None:
        restricted = draw(st.booleans())
    return LayerSpec(
        id=ident,
        name=f"Layer {ident}",
        position=ident,
        start=draw(st.one_of(aligned, aligned, plain)),
        shift_count=count,
        shift_unit=unit,
        members=tuple(draw(st.lists(st.integers(1, 4), min_size=members, max_size=5))),
        restrictions=tuple(draw(st.lists(windows, min_size=1, max_size=3)))
        if restricted
        else (),
    )


@st.composite
def single_layer(
    draw: st.DrawFn, restricted: bool = False
) -> tuple[ScheduleSpec, datetime]:
    zone_name = draw(zones)
    moment = draw(moments(zone_name))
    layer = draw(layers(zone_name, moment, restricted=restricted))
    return ScheduleSpec(zone_name, (layer,)), moment


@st.composite
def overrides(draw: st.DrawFn, near: datetime, ident: int) -> OverrideSpec:
    start = near + draw(jitter)
    length = SECOND * draw(st.integers(60, 3 * 86400))
    covered = draw(st.one_of(st.none(), st.integers(1, 4)))
    return OverrideSpec(ident, draw(st.integers(1, 6)), start, start + length, covered)


@st.composite
def full_schedules(draw: st.DrawFn) -> tuple[ScheduleSpec, datetime]:
    """One to three layers (some restricted, some empty), zero to three overrides."""
    zone_name = draw(zones)
    moment = draw(moments(zone_name))
    count = draw(st.integers(1, 3))
    stack = tuple(
        draw(layers(zone_name, moment, ident=i, restricted=None, members=0))
        for i in range(1, count + 1)
    )
    found = tuple(
        draw(overrides(moment, i)) for i in range(1, draw(st.integers(0, 3)) + 1)
    )
    return ScheduleSpec(zone_name, stack, found), moment


# --- Properties ---------------------------------------------------------------------


def test_the_reference_finds_the_documented_instants():
    # The reference must itself be right for the properties to mean anything.
    ny = ZoneInfo("America/New_York")
    assert ref_instant(local("2026-03-08T02:30"), ny) == at("2026-03-08T07:00", "UTC")
    assert ref_instant(local("2026-11-01T01:30"), ny) == at("2026-11-01T05:30", "UTC")
    assert ref_instant(local("2026-07-01T12:00"), ny) == at("2026-07-01T16:00", "UTC")


@given(single_layer(), st.lists(jitter, max_size=4))
def test_oncall_agrees_with_walking_the_rotation(case, offsets):
    spec, moment = case
    for instant in [moment, *(moment + offset for offset in offsets)]:
        assert oncall_at(spec, instant) == ref_oncall(spec, instant)


@given(st.data())
def test_local_times_resolve_as_documented(data):
    zone_name = data.draw(zones)
    local = data.draw(local_times(zone_name, data.draw(moments(zone_name))))
    zone = ZoneInfo(zone_name)
    assert local_instant(local, zone) == ref_instant(local, zone)


@given(single_layer(), st.integers(1, 30 * 24))
def test_a_rotations_shifts_follow_each_other_without_gaps(case, hours):
    spec, moment = case
    (layer,) = spec.layers
    start = max(moment, ref_instant(layer.start, ZoneInfo(spec.time_zone)))
    end = start + HOUR * hours
    found = shifts(spec, start, end)

    assert found[0].start == start
    assert found[-1].end == end
    for shift, following in pairwise(found):
        assert shift.end == following.start
        assert shift.user_id != following.user_id  # one person's run is one shift
    for shift in found:
        assert shift.start < shift.end
        assert (shift.layer, shift.override) == (layer.id, None)
        middle = shift.start + (shift.end - shift.start) / 2
        for instant in (shift.start, middle, shift.end - SECOND / 10**6):
            assert oncall_at(spec, instant) == [shift.user_id]


@given(single_layer(restricted=True), st.lists(jitter, min_size=1, max_size=4))
def test_outside_its_restrictions_a_layer_has_nobody(case, offsets):
    spec, moment = case
    (layer,) = spec.layers
    zone = ZoneInfo(spec.time_zone)
    for instant in [moment, *(moment + offset for offset in offsets)]:
        inside = ref_in_windows(layer.restrictions, zone, instant)
        if not inside:
            assert oncall_at(spec, instant) == []
        else:
            assert oncall_at(spec, instant) == ref_oncall(spec, instant)


@given(full_schedules())
def test_layers_and_overrides_agree_with_the_reference(case):
    spec, moment = case
    assert oncall_at(spec, moment) == ref_oncall(spec, moment)


@given(full_schedules(), st.integers(1, 10 * 24))
def test_shifts_match_oncall_inside_and_gaps_have_nobody(case, hours):
    spec, moment = case
    end = moment + HOUR * hours
    found = shifts(spec, moment, end)
    edges = [moment, *(e for s in found for e in (s.start, s.end)), end]
    for begin, finish in zip(edges[::2], edges[1::2], strict=True):
        assert begin <= finish
        if begin < finish:  # a gap between shifts
            for instant in (begin, begin + (finish - begin) / 2):
                assert oncall_at(spec, instant) == []
    for shift, following in pairwise(found):
        assert shift.end < following.start or shift.source != following.source
    for shift in found:
        assert (shift.layer is None) != (shift.override is None)
        for instant in (shift.start, shift.start + (shift.end - shift.start) / 2):
            assert oncall_at(spec, instant) == [shift.user_id]


@given(full_schedules(), st.integers(1, 6))
def test_next_shifts_are_whole_shifts_from_the_one_in_progress(case, count):
    spec, moment = case
    found = next_shifts(spec, moment, count)
    assume(found)
    assert len(found) <= count
    assert found[0].end > moment
    if found[0].start > moment:
        assert oncall_at(spec, moment) == []
    assert shifts(spec, found[0].start, found[-1].end) == found


# --- DST, written out ---------------------------------------------------------------


def rotation(zone: str, start: str, unit: str, members=(1, 2, 3), count=1, **kw):
    layer = LayerSpec(
        1,
        "Primary",
        1,
        datetime.fromisoformat(start),
        count,
        unit,
        tuple(members),
        **kw,
    )
    return ScheduleSpec(zone, (layer,))


def lengths(found: list[Shift]) -> list[timedelta]:
    return [shift.end - shift.start for shift in found]


def test_a_daily_berlin_handoff_stays_at_nine_through_spring_forward():
    spec = rotation("Europe/Berlin", "2026-03-27T09:00", "days")
    found = next_shifts(spec, at("2026-03-28T12:00"), 2)

    assert [s.start for s in found] == [at("2026-03-28T09:00"), at("2026-03-29T09:00")]
    assert found[0].end == at("2026-03-29T09:00") == at("2026-03-29T07:00", "UTC")
    assert lengths(found) == [HOUR * 23, HOUR * 24]


def test_a_daily_berlin_handoff_stays_at_nine_through_fall_back():
    spec = rotation("Europe/Berlin", "2026-10-20T09:00", "days")
    found = next_shifts(spec, at("2026-10-24T12:00"), 2)

    assert found[0].start == at("2026-10-24T09:00") == at("2026-10-24T07:00", "UTC")
    assert found[0].end == at("2026-10-25T09:00") == at("2026-10-25T08:00", "UTC")
    assert lengths(found) == [HOUR * 25, HOUR * 24]


def test_a_handoff_in_the_new_york_spring_gap_happens_when_clocks_jump():
    spec = rotation("America/New_York", "2026-03-01T02:30", "days")
    found = next_shifts(spec, at("2026-03-07T12:00", "America/New_York"), 3)

    # 02:30 does not exist on 8 March: clocks jump from 02:00 EST to 03:00 EDT.
    assert found[0].end == at("2026-03-08T07:00", "UTC")
    assert found[1].start == at("2026-03-08T03:00", "America/New_York")
    assert found[2].start == at("2026-03-09T02:30", "America/New_York")
    assert lengths(found) == [HOUR * 23.5, HOUR * 23.5, HOUR * 24]


def test_a_handoff_in_the_repeated_hour_happens_at_its_first_occurrence():
    spec = rotation("America/New_York", "2026-10-25T01:30", "days")
    found = next_shifts(spec, at("2026-10-31T12:00", "America/New_York"), 2)

    assert found[0].end == at("2026-11-01T05:30", "UTC")  # 01:30 EDT, not EST
    assert lengths(found) == [HOUR * 24, HOUR * 25]


def test_lord_howe_half_hour_dst_makes_a_shift_half_an_hour_shorter():
    spec = rotation("Australia/Lord_Howe", "2026-09-28T09:00", "days")
    found = next_shifts(spec, at("2026-10-03T12:00", "Australia/Lord_Howe"), 2)
    assert lengths(found) == [HOUR * 23.5, HOUR * 24]
    # 02:15 on the day the clocks go from 02:00 to 02:30 does not exist.
    gap = rotation("Australia/Lord_Howe", "2026-09-28T02:15", "days")
    early = at("2026-10-04T01:00", "Australia/Lord_Howe")
    before, after = shifts(gap, early, early + 2 * HOUR)
    assert before.end == after.start == at("2026-10-03T15:30", "UTC")  # 02:30 LHDT


def test_hour_shifts_are_elapsed_hours_across_dst():
    spec = rotation("Europe/Berlin", "2026-03-28T00:00", "hours", count=8)
    found = shifts(spec, at("2026-03-28T00:00"), at("2026-03-31T00:00"))
    assert set(lengths(found[:-1])) == {HOUR * 8}
    assert found[3].start == at("2026-03-29T00:00")
    assert found[4].start == at("2026-03-29T09:00")  # 8 h later, 9 on the clock


def test_a_weekly_shift_across_spring_forward_lasts_167_hours():
    spec = rotation("Europe/Berlin", "2026-03-23T09:00", "weeks", members=(1, 2))
    found = next_shifts(spec, at("2026-03-23T10:00"), 2)
    assert lengths(found) == [HOUR * 167, HOUR * 168]
    assert [s.user_id for s in found] == [1, 2]


def test_santiago_changes_at_midnight_so_a_midnight_handoff_moves_to_one():
    spec = rotation("America/Santiago", "2026-09-01T00:00", "days")
    found = next_shifts(spec, at("2026-09-05T12:00", "America/Santiago"), 2)
    # On 6 September 2026 the clocks go from 00:00 straight to 01:00: that
    # day's hand-off is at 01:00, the next day's at midnight again.
    assert found[0].end == at("2026-09-06T01:00", "America/Santiago")
    assert lengths(found) == [HOUR * 24, HOUR * 23]


# --- Layers, restrictions, overrides, gaps -------------------------------------------

BUSINESS_HOURS = tuple(Window(day, time(9), day, time(17)) for day in range(5))


def stacked(*overrides: OverrideSpec) -> ScheduleSpec:
    base = LayerSpec(1, "Weekly", 1, local("2026-03-02T09:00"), 1, "weeks", (1, 2))
    office = LayerSpec(
        2,
        "Office",
        2,
        local("2026-03-02T09:00"),
        1,
        "days",
        (3,),
        restrictions=BUSINESS_HOURS,
    )
    return ScheduleSpec("Europe/Berlin", (base, office), overrides)


def test_a_higher_layer_wins_inside_its_restrictions_only():
    spec = stacked()
    assert oncall_at(spec, at("2026-03-04T10:00")) == [3]  # Wednesday, office hours
    assert oncall_at(spec, at("2026-03-04T18:00")) == [1]  # evening: the weekly layer
    assert oncall_at(spec, at("2026-03-07T10:00")) == [1]  # Saturday
    assert oncall_at(spec, at("2026-03-10T18:00")) == [2]  # the next week's turn


def test_the_days_shifts_show_the_layers_taking_over():
    found = shifts(stacked(), at("2026-03-04T00:00"), at("2026-03-05T00:00"))
    assert [(s.start, s.end, s.user_id, s.layer) for s in found] == [
        (at("2026-03-04T00:00"), at("2026-03-04T09:00"), 1, 1),
        (at("2026-03-04T09:00"), at("2026-03-04T17:00"), 3, 2),
        (at("2026-03-04T17:00"), at("2026-03-05T00:00"), 1, 1),
    ]


def test_a_restricted_layer_alone_leaves_gaps():
    office = stacked().layers[1]
    spec = ScheduleSpec("Europe/Berlin", (office,))
    assert oncall_at(spec, at("2026-03-04T20:00")) == []
    assert oncall_at(spec, at("2026-03-02T08:59")) == []  # before it starts
    found = shifts(spec, at("2026-03-06T00:00"), at("2026-03-10T00:00"))
    assert [(s.start, s.end) for s in found] == [
        (at("2026-03-06T09:00"), at("2026-03-06T17:00")),
        (at("2026-03-09T09:00"), at("2026-03-09T17:00")),
    ]


def test_a_weekend_window_wraps_from_friday_evening_to_monday_morning():
    weekend = (Window(4, time(18), 0, time(9)),)
    spec = rotation(
        "Europe/Berlin", "2026-03-02T09:00", "weeks", members=(7,), restrictions=weekend
    )
    assert oncall_at(spec, at("2026-03-06T17:59")) == []
    assert oncall_at(spec, at("2026-03-07T03:00")) == [7]
    assert oncall_at(spec, at("2026-03-09T08:59")) == [7]
    assert oncall_at(spec, at("2026-03-09T09:00")) == []


def test_a_layer_without_members_lets_the_one_below_show_through():
    empty = LayerSpec(9, "Empty", 9, local("2026-01-01T00:00"), 1, "days", ())
    spec = ScheduleSpec("Europe/Berlin", (*stacked().layers, empty))
    assert oncall_at(spec, at("2026-03-04T10:00")) == [3]


def test_an_override_for_a_named_user_applies_only_while_they_are_on_call():
    cover = OverrideSpec(1, 5, at("2026-03-04T06:00"), at("2026-03-04T12:00"), 1)
    spec = stacked(cover)
    assert oncall_at(spec, at("2026-03-04T07:00")) == [5]  # covers user 1
    assert oncall_at(spec, at("2026-03-04T10:00")) == [3]  # user 3 is on, not 1
    found = shifts(spec, at("2026-03-04T00:00"), at("2026-03-04T10:00"))
    assert [(s.user_id, s.layer, s.override) for s in found] == [
        (1, 1, None),
        (5, None, 1),
        (3, 2, None),
    ]


def test_an_override_without_a_covered_user_replaces_anyone_and_fills_gaps():
    office = stacked().layers[1]
    evening = OverrideSpec(4, 6, at("2026-03-04T16:00"), at("2026-03-04T20:00"))
    spec = ScheduleSpec("Europe/Berlin", (office,), (evening,))
    assert oncall_at(spec, at("2026-03-04T16:30")) == [6]
    assert oncall_at(spec, at("2026-03-04T19:00")) == [6]  # the layer has nobody
    assert oncall_at(spec, at("2026-03-04T20:00")) == []


def test_the_newest_of_overlapping_overrides_wins():
    older = OverrideSpec(1, 5, at("2026-03-04T00:00"), at("2026-03-05T00:00"))
    newer = OverrideSpec(2, 6, at("2026-03-04T12:00"), at("2026-03-04T13:00"))
    spec = stacked(older, newer)
    assert oncall_at(spec, at("2026-03-04T12:30")) == [6]
    assert oncall_at(spec, at("2026-03-04T13:30")) == [5]


def test_a_swap_is_two_overrides_that_trade_shifts():
    monday, tuesday = at("2026-03-02T09:00"), at("2026-03-03T09:00")
    daily = rotation("Europe/Berlin", "2026-03-02T09:00", "days", members=(1, 2))
    swapped = ScheduleSpec(
        daily.time_zone,
        daily.layers,
        (
            OverrideSpec(1, 2, monday, tuesday, covered_user_id=1),
            OverrideSpec(2, 1, tuesday, tuesday + DAY, covered_user_id=2),
        ),
    )
    assert [s.user_id for s in next_shifts(daily, monday, 2)] == [1, 2]
    assert [s.user_id for s in next_shifts(swapped, monday, 3)] == [2, 1, 1]


def test_shifts_overlapping_reports_the_real_edges_of_a_long_shift():
    spec = rotation("Europe/Berlin", "2026-03-02T09:00", "weeks", members=(1, 2))
    (shift,) = shifts_overlapping(spec, at("2026-03-05T00:00"), at("2026-03-05T01:00"))
    assert (shift.start, shift.end) == (at("2026-03-02T09:00"), at("2026-03-09T09:00"))
    (cut,) = shifts(spec, at("2026-03-05T00:00"), at("2026-03-05T01:00"))
    assert (cut.start, cut.end) == (at("2026-03-05T00:00"), at("2026-03-05T01:00"))
