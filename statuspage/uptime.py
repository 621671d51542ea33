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

from incidents.models import Service

PS = Service.PublicStatus
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
    major = _merged(
        [(a, b or now) for a, b, state in incidents if state == PS.MAJOR_OUTAGE]
    )
    partial = _merged(
        [(a, b or now) for a, b, state in incidents if state == PS.PARTIAL_OUTAGE]
    )
    degraded = _merged(
        [(a, b or now) for a, b, state in incidents if state not in DOWN_WEIGHT]
    )
    bars = []
    for index in range(days):
        day = start + index * DAY
        end = min(day + DAY, now)
        seconds = (end - day).total_seconds()
        if seconds <= 0:
            break
        day_major = _clip(major, day, end)
        major_s = _length(day_major)
        # A partial outage's minutes that a major one covers count as major.
        partial_s = _partial_only(partial, day_major, day, end)
        down = major_s * DOWN_WEIGHT[PS.MAJOR_OUTAGE]
        down += partial_s * DOWN_WEIGHT[PS.PARTIAL_OUTAGE]
        worst = PS.OPERATIONAL
        if _clip(degraded, day, end):
            worst = PS.DEGRADED_PERFORMANCE
        if partial_s > 0:
            worst = PS.PARTIAL_OUTAGE
        if major_s > 0:
            worst = PS.MAJOR_OUTAGE
        bars.append(DayBar(day=day, uptime=max(0.0, 1 - down / seconds), worst=worst))
    return bars


def _partial_only(
    partial: list[tuple[datetime, datetime]],
    day_major: list[tuple[datetime, datetime]],
    day: datetime,
    end: datetime,
) -> float:
    """Return the seconds of the day under a partial outage and no major one."""
    day_partial = _clip(partial, day, end)
    both = _length(_merged(day_partial + day_major))
    return both - _length(day_major)
