"""Per-service availability from incident durations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from config.intervals import union


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
        merged = union(spans[service["slug"]])
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
