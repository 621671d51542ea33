"""Per-service availability from incident durations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any


def availability(
    services: list[dict[str, Any]],
    rows: Iterable[dict[str, Any]],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    """Return, per service, the share of [start, end) outside any of its
    incidents' impact (started until resolved, or until now while open);
    overlapping incidents count once."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in rows:
        begin = max(row["started_at"], start)
        finish = min(row["resolved_at"] or now, end)
        if finish > begin:
            spans[row["service"]].append((begin, finish))
    window = (end - start).total_seconds()
    results = []
    for service in services:
        merged = _merged(spans[service["slug"]])
        down = sum((finish - begin).total_seconds() for begin, finish in merged)
        results.append(
            {
                "service": service["slug"],
                "team": service["team__slug"],
                "window_start": start,
                "window_end": end,
                "incidents": len(spans[service["slug"]]),
                "downtime_seconds": down,
                "availability": 1 - down / window,
            }
        )
    return results


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for begin, finish in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged
