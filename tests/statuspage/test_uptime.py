"""The daily uptime formula of docs/status-page.md, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents.models import Service
from notifications.statuspage.uptime import day_bars

PS = Service.PublicStatus
MIDNIGHT = datetime(2026, 3, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return MIDNIGHT + timedelta(hours=hours)


def test_major_counts_fully_partial_30_percent_and_overlaps_once():
    bars = day_bars(
        incidents=[
            (at(1), at(2), PS.MAJOR_OUTAGE),  # 60 min down
            (at(1.5), at(3.5), PS.PARTIAL_OUTAGE),  # 90 min outside the major
            (at(5), at(9), PS.DEGRADED_PERFORMANCE),  # counts as up
        ],
        start=MIDNIGHT,
        days=2,
        now=at(48),
    )

    assert bars[0].uptime == 1 - (60 + 0.3 * 90) / 1440
    assert bars[0].worst == PS.MAJOR_OUTAGE
    assert (bars[1].uptime, bars[1].worst) == (1.0, PS.OPERATIONAL)


def test_an_open_incident_runs_to_now_and_today_counts_the_minutes_so_far():
    bars = day_bars(
        incidents=[(at(22), None, PS.MAJOR_OUTAGE)],
        start=MIDNIGHT,
        days=2,
        now=at(36),
    )

    assert bars[0].uptime == 1 - 120 / 1440
    assert bars[1].uptime == 1 - 12 / 12
    assert len(bars) == 2
