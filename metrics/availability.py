"""Per-service availability from incident durations."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def availability(
    services: list[dict[str, Any]],
    downtime: dict[int, tuple[int, float]],
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """Return, per service, the share of [start, end) outside any of its
    incidents' impact (started until resolved, or until now while open);
    overlapping incidents count once. `downtime` holds, per service id, how
    many incidents had an impact within the window and the length of their
    impacts' union in seconds (the database merges them)."""
    window = (end - start).total_seconds()
    results = []
    for service in services:
        count, down = downtime.get(service["id"], (0, 0))
        results.append(
            {
                "service": service["slug"],
                "team": service["team__slug"],
                "window_start": start,
                "window_end": end,
                "incidents": count,
                "downtime_seconds": down,
                "availability": 1 - down / window,
            }
        )
    return results
