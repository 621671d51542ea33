"""Per-service availability from incident durations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from config.intervals import union


def availability(
    services: list[dict[str, Any]],
    resolved: Iterable[tuple[str, float, float]],
    still_open: dict[str, dict[str, Any]],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """Return, per service, the share of [start, end) outside any of its
    incidents' impact (started until resolved, or until now while open);
    overlapping incidents count once. `resolved` are the resolved incidents'
    impacts within the window (service slug, begin and end in seconds after
    `start`); `still_open`, per service, the open ones that began before the
    window's end (or now): their count and the first start, their impact one
    span until now."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for slug, begin, finish in resolved:
        if finish > begin:
            spans[slug].append((begin, finish))
            counts[slug] += 1
    for slug, impact in still_open.items():
        begin = (max(impact["first"], start) - start).total_seconds()
        finish = (min(now, end) - start).total_seconds()
        if finish > begin:
            spans[slug].append((begin, finish))
            counts[slug] += impact["count"]
    window = (end - start).total_seconds()
    results = []
    for service in services:
        merged = union(spans[service["slug"]])
        down = sum(finish - begin for begin, finish in merged)
        results.append(
            {
                "service": service["slug"],
                "team": service["team__slug"],
                "window_start": start,
                "window_end": end,
                "incidents": counts[service["slug"]],
                "downtime_seconds": down,
                "availability": 1 - down / window,
            }
        )
    return results
