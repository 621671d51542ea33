"""Who is on call when: the pure computation behind on-call schedules.

Over 400 lines on purpose: the layers, restrictions and overrides share the
dataclasses below and one notion of time, and are tested as one.

Nothing here touches the database. The selectors load a schedule into the
plain dataclasses below (`ScheduleSpec`, `LayerSpec`, `Window`,
`OverrideSpec`) and ask `oncall_at` or `shifts`; tests drive them directly.

Time rules (correct across daylight-saving changes)
--------------------------------------------------
* A layer's rotation starts at a local date and hand-off time in the
  schedule's zone. Hand-off k of a rotation of ``count`` **days** or
  **weeks** is that local wall-clock time ``k * count`` days (weeks) later:
  a daily 09:00 hand-off is at 09:00 local every day, so a shift across a
  DST change lasts 23 or 25 hours. A rotation of ``count`` **hours** hands
  off every ``count`` elapsed hours from its first hand-off (UTC
  arithmetic), whatever the clocks do.
* A local time stands for **the first instant at which the local clock shows
  that time or later**. So an ambiguous time (the repeated hour when clocks
  go back) is its first occurrence (``fold=0``), and a time that does not
  exist (the hour skipped when clocks go forward) is the instant the clocks
  jump, the first instant after the gap: a 02:30 hand-off in New York on the
  spring-forward day happens at 03:00 EDT. Restriction windows' edges follow
  the same rule, so every boundary is one instant, computed one way.
* Restrictions are weekly windows of local wall-clock time, from a start
  weekday and time to an end weekday and time (an end at or before the start
  wraps into the next week). Outside every window of a layer, the layer has
  nobody on call; its rotation keeps turning meanwhile.
* Layers are stacked by position: where the highest layer has somebody on
  call, that person is on call; where it has nobody (before its rotation
  starts, outside its restrictions, or without members), the layer below
  shows through. Where no layer has anybody, there is a gap.
* Overrides apply after the layers, oldest first, so the newest wins where
  they overlap. One that names a covered user replaces only that user; one
  without replaces whoever is on call, and fills a gap too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

HOURS, DAYS, WEEKS = "hours", "days", "weeks"
UNIT_LENGTH = {
    HOURS: timedelta(hours=1),
    DAYS: timedelta(days=1),
    WEEKS: timedelta(weeks=1),
}
WEEK = timedelta(weeks=1)
# The instants the schedules answer for; far enough from datetime's limits
# that every look-around below stays representable.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
# How far `shifts_overlapping` looks beyond its range for a shift's real
# start and end; a longer shift (one person on call for ever) is cut there.
MAX_REACH = timedelta(days=400)
# How far ahead `next_shifts` looks for shifts at the most.
MAX_HORIZON = timedelta(days=800)
TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Window:
    """A weekly window of local time; weekdays are 0 (Monday) to 6 (Sunday)."""

    start_day: int
    start_time: time
    end_day: int
    end_time: time

    @property
    def offsets(self) -> tuple[timedelta, timedelta]:
        """Return the window's start and end as offsets from Monday 00:00."""
        start = timedelta(days=self.start_day) + _since_midnight(self.start_time)
        end = timedelta(days=self.end_day) + _since_midnight(self.end_time)
        return start, end if end > start else end + WEEK


def _since_midnight(moment: time) -> timedelta:
    return timedelta(
        hours=moment.hour,
        minutes=moment.minute,
        seconds=moment.second,
        microseconds=moment.microsecond,
    )


@dataclass(frozen=True)
class LayerSpec:
    """One rotation: members take turns of `shift_count` `shift_unit`s each."""

    id: int
    name: str
    position: int
    start: datetime  # naive: local date and hand-off time of the first turn
    shift_count: int
    shift_unit: str
    members: tuple[int, ...]
    restrictions: tuple[Window, ...] = ()

    @property
    def length(self) -> timedelta:
        return UNIT_LENGTH[self.shift_unit] * self.shift_count


@dataclass(frozen=True)
class OverrideSpec:
    """`user_id` is on call from `start` to `end`, for `covered_user_id` if set."""

    id: int
    user_id: int
    start: datetime
    end: datetime
    covered_user_id: int | None = None


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule as `oncall_at` and `shifts` take it: a zone, layers, overrides."""

    time_zone: str
    layers: tuple[LayerSpec, ...] = ()
    overrides: tuple[OverrideSpec, ...] = ()  # oldest first

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def stack(self) -> list[LayerSpec]:
        """Return the layers, the one that wins first."""
        return sorted(self.layers, key=lambda layer: -layer.position)


@dataclass(frozen=True)
class Shift:
    """`user_id` on call from `start` to `end`, by a layer or an override."""

    start: datetime
    end: datetime
    user_id: int
    layer: int | None  # the layer's id when a layer put them on call
    override: int | None  # the override's id when an override did

    @property
    def source(self) -> tuple[int, int | None, int | None]:
        return self.user_id, self.layer, self.override


# --- Local time -------------------------------------------------------------------


def local_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """Return the first instant at which the clock in `zone` shows `local` or later."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if wall_clock(first, zone) == local:
        return first  # exists; fold=0 is the first of two occurrences
    # In the gap: fold=0 read it with the offset from before the jump, which
    # lands after the jump; fold=1 with the offset after it, which lands
    # before. The jump lies between the two; find it to the second (zone
    # transitions fall on whole seconds).
    after = first.astimezone(zone).utcoffset()
    low = int(local.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    high = int(first.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """Return the naive local time that the clock in `zone` shows at `instant`."""
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def handoff(layer: LayerSpec, zone: ZoneInfo, turn: int) -> datetime:
    """Return the instant of the layer's hand-off number `turn` (0: the first)."""
    if layer.shift_unit == HOURS:
        return local_instant(layer.start, zone) + turn * layer.length
    return local_instant(layer.start + turn * layer.length, zone)


def turn_at(layer: LayerSpec, zone: ZoneInfo, at: datetime) -> int | None:
    """Return the number of the layer's turn in progress at `at` (None: not begun)."""
    first = local_instant(layer.start, zone)
    if at < first:
        return None
    if layer.shift_unit == HOURS:
        return (at - first) // layer.length
    # Wall-clock turns: guess from the local clock, then settle on the turn
    # whose hand-off instants bracket `at` (DST moves them by an hour or so).
    turn = max(0, (wall_clock(at, zone) - layer.start) // layer.length)
    while turn > 0 and handoff(layer, zone, turn) > at:
        turn -= 1
    while handoff(layer, zone, turn + 1) <= at:
        turn += 1
    return turn


# --- Restrictions --------------------------------------------------------------


def window_spans(
    windows: Sequence[Window], zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Return the stretches of [start, end) inside the windows, merged, in order."""
    # A window may end in the week after it starts, and resolving a local
    # time can move it by up to a day (a skipped day): look a little wider.
    first = wall_clock(start, zone).date() - timedelta(days=2)
    week = datetime.combine(first - timedelta(days=first.weekday()), time()) - WEEK
    last = wall_clock(end, zone) + timedelta(days=2)
    spans = []
    while week <= last:
        for window in windows:
            begin_offset, end_offset = window.offsets
            begin = local_instant(week + begin_offset, zone)
            finish = local_instant(week + end_offset, zone)
            if begin < end and finish > start and begin < finish:
                spans.append((max(begin, start), min(finish, end)))
        week += WEEK
    return _union(spans)


def _union(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


# --- One layer -----------------------------------------------------------------

Segment = tuple[datetime, datetime, int]  # from, to, user id


def _turns(
    layer: LayerSpec, zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[Segment]:
    """Yield the layer's turns over [start, end), cut to it; one user's run as one."""
    turn = turn_at(layer, zone, start) or 0
    begin = handoff(layer, zone, turn)
    if len(set(layer.members)) == 1:
        # One person takes every turn: a single run, however long the range.
        if begin < end:
            yield max(begin, start), end, layer.members[0]
        return
    piece: Segment | None = None
    while begin < end:
        finish = handoff(layer, zone, turn + 1)
        user = layer.members[turn % len(layer.members)]
        if piece and piece[2] == user:
            piece = (piece[0], min(finish, end), user)
        elif finish > begin:
            if piece:
                yield piece
            piece = (max(begin, start), min(finish, end), user)
        turn, begin = turn + 1, finish
    if piece:
        yield piece


def layer_segments(
    layer: LayerSpec, zone: ZoneInfo, start: datetime, end: datetime
) -> list[Segment]:
    """Return who the layer has on call over [start, end), in order."""
    if not layer.members:
        return []
    turns = list(_turns(layer, zone, start, end))
    if not layer.restrictions:
        return turns
    return _intersect(turns, window_spans(layer.restrictions, zone, start, end))


def _intersect(
    turns: list[Segment], spans: list[tuple[datetime, datetime]]
) -> list[Segment]:
    """Return the parts of the turns inside the spans (each list ordered, apart)."""
    found = []
    first = 0
    for begin, finish, user in turns:
        while first < len(spans) and spans[first][1] <= begin:
            first += 1
        index = first
        while index < len(spans) and spans[index][0] < finish:
            low, high = spans[index]
            found.append((max(begin, low), min(finish, high), user))
            index += 1
    return found


def layer_user_at(layer: LayerSpec, zone: ZoneInfo, at: datetime) -> int | None:
    """Return who the layer has on call at `at`, None if nobody."""
    turn = turn_at(layer, zone, at) if layer.members else None
    if turn is None:
        return None
    windows = layer.restrictions
    if windows and not window_spans(windows, zone, at, at + TICK):
        return None
    return layer.members[turn % len(layer.members)]


# --- The whole schedule ----------------------------------------------------------


def _replaces(override: OverrideSpec, user: int | None) -> bool:
    """Return whether the override takes over from `user` (None: nobody on call)."""
    if override.covered_user_id is None:
        return True
    return user is not None and override.covered_user_id == user


def oncall_at(spec: ScheduleSpec, at: datetime) -> list[int]:
    """Return the ids of the users on call at `at`; an empty list is a gap."""
    zone = spec.zone
    user = None
    for layer in spec.stack:
        user = layer_user_at(layer, zone, at)
        if user is not None:
            break
    for override in spec.overrides:
        if override.start <= at < override.end and _replaces(override, user):
            user = override.user_id
    return [] if user is None else [user]


def shifts(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    """Return the final shifts over [start, end), cut to it, in order.

    Layers and overrides are applied; adjacent pieces with the same user and
    the same source (layer or override) are one shift. Gaps have no shift.
    """
    zone = spec.zone
    stack = [
        (layer.id, layer_segments(layer, zone, start, end)) for layer in spec.stack
    ]
    overrides = [o for o in spec.overrides if o.start < end and o.end > start]
    cuts = {start, end}
    for _layer, segments in stack:
        cuts.update(moment for segment in segments for moment in segment[:2])
    starting: dict[datetime, list[int]] = {}
    for index, override in enumerate(overrides):
        cuts.update((max(override.start, start), min(override.end, end)))
        starting.setdefault(max(override.start, start), []).append(index)
    cursors = [0] * len(stack)
    active: list[int] = []  # the overrides in force, oldest first
    found: list[Shift] = []
    for begin, finish in pairwise(sorted(cuts)):
        active = sorted(
            i for i in (*active, *starting.get(begin, ())) if overrides[i].end > begin
        )
        user, layer = _layers_at(stack, cursors, begin)
        override_id = None
        for override in (overrides[i] for i in active):
            if _replaces(override, user):
                user, layer, override_id = override.user_id, None, override.id
        if user is None:
            continue
        piece = Shift(begin, finish, user, layer, override_id)
        if found and found[-1].end == begin and found[-1].source == piece.source:
            found[-1] = replace(found[-1], end=finish)
        else:
            found.append(piece)
    return found


def _layers_at(
    stack: list[tuple[int, list[Segment]]], cursors: list[int], at: datetime
) -> tuple[int | None, int | None]:
    """Return (user, layer id) of the highest layer with somebody at `at`.

    `cursors` remember how far each layer's segments were read; `at` only
    ever grows between calls.
    """
    for index, (layer_id, segments) in enumerate(stack):
        cursor = cursors[index]
        while cursor < len(segments) and segments[cursor][1] <= at:
            cursor += 1
        cursors[index] = cursor
        if cursor < len(segments) and segments[cursor][0] <= at:
            return segments[cursor][2], layer_id
    return None, None


def shifts_overlapping(
    spec: ScheduleSpec, start: datetime, end: datetime, reach: timedelta = MAX_REACH
) -> list[Shift]:
    """Return the final shifts that overlap [start, end), with their real ends.

    A shift's start and end are looked for up to `reach` beyond the range; a
    longer shift is cut there.
    """
    pad = timedelta(days=1)
    while True:
        found = [
            shift
            for shift in shifts(spec, start - pad, end + pad)
            if shift.end > start and shift.start < end
        ]
        cut = found and (found[0].start == start - pad or found[-1].end == end + pad)
        if not cut or pad >= reach:
            return found
        pad = min(pad * 4, reach)


def next_shifts(
    spec: ScheduleSpec, start: datetime, count: int, horizon: timedelta = MAX_HORIZON
) -> list[Shift]:
    """Return the first `count` final shifts that end after `start`.

    The one in progress at `start` comes first, with its real start. Shifts
    that begin more than `horizon` after `start` are not looked for.
    """
    span = timedelta(days=1)
    while True:
        found = shifts_overlapping(spec, start, start + span)
        if len(found) >= count or span >= horizon:
            return found[:count]
        span = min(span * 4, horizon)
