"""Daily uptime of a public service, for the page's 90 bars.

A day's uptime is the share of its minutes (up to now, for today) in which
the service was up, where a minute of a major outage counts as fully down,
a minute of a partial outage as 30 % down, and degraded performance and
maintenance as up:

    uptime = 1 - (major + 0.3 * partial) / minutes of the day

An incident's impact lasts from when it began (`started_at`) to when it was
mitigated, else resolved, else now; overlapping incidents count once, the
worse one winning. docs/status-page.md says the same for readers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.public_selectors import PublicStatus as PS

DOWN_WEIGHT = {PS.MAJOR_OUTAGE: 1.0, PS.PARTIAL_OUTAGE: 0.3}
DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayBar:
    day: datetime  # the local midnight it starts at
    uptime: float  # 0.0 - 1.0
    worst: str  # the worst state the service was in that day

    @property
    def percent(self) -> str:
        return f"{self.uptime * 100:.2f}"


Impact = tuple[datetime, datetime | None, str]  # start, end (None: open), state


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _length(spans: Iterable[tuple[datetime, datetime]]) -> float:
    return sum((end - start).total_seconds() for start, end in spans)


def _clip(
    spans: list[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    return [(max(a, start), min(b, end)) for a, b in spans if a < end and b > start]


def day_bars(
    *, incidents: list[Impact], start: datetime, days: int, now: datetime
) -> list[DayBar]:
    """Return one bar per day from `start` (a local midnight), oldest first."""
    spans: dict[int, list[tuple[datetime, datetime, str]]] = {}
    for began, ended, state in incidents:
        end = ended or now
        first = max(int((began - start) / DAY), 0)
        last = min(int((end - start) / DAY), days - 1)
        for index in range(first, last + 1):
            spans.setdefault(index, []).append((began, end, state))
    bars = []
    for index in range(days):
        day = start + index * DAY
        end = min(day + DAY, now)
        if end <= day:
            break
        bars.append(_bar(day, end, spans.get(index, [])))
    return bars


def _bar(
    day: datetime, end: datetime, spans: list[tuple[datetime, datetime, str]]
) -> DayBar:
    """Return the bar of one day (`day` to `end`) under these incidents."""
    if not spans:
        return DayBar(day=day, uptime=1.0, worst=PS.OPERATIONAL)
    major = _clip(
        _merged([(a, b) for a, b, s in spans if s == PS.MAJOR_OUTAGE]), day, end
    )
    partial = [(a, b) for a, b, s in spans if s == PS.PARTIAL_OUTAGE]
    major_s = _length(major)
    # A partial outage's minutes that a major one covers count as major.
    partial_s = _partial_only(partial, major, day, end)
    down = major_s * DOWN_WEIGHT[PS.MAJOR_OUTAGE]
    down += partial_s * DOWN_WEIGHT[PS.PARTIAL_OUTAGE]
    worst = PS.DEGRADED_PERFORMANCE
    if partial_s > 0:
        worst = PS.PARTIAL_OUTAGE
    if major_s > 0:
        worst = PS.MAJOR_OUTAGE
    uptime = max(0.0, 1 - down / (end - day).total_seconds())
    return DayBar(day=day, uptime=uptime, worst=worst)


def _partial_only(
    partial: list[tuple[datetime, datetime]],
    day_major: list[tuple[datetime, datetime]],
    day: datetime,
    end: datetime,
) -> float:
    """Return the seconds of the day under a partial outage and no major one."""
    day_partial = _clip(_merged(partial), day, end)
    both = _length(_merged(day_partial + day_major))
    return both - _length(day_major)
