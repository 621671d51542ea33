"""Repeat incidents: the same service and category again within 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from metrics.kpis import Context, Row, ratio, register, row

KEY = "repeat_incidents"
WINDOW = timedelta(days=30)


@register(KEY, "Repeat incidents (same service and category within 30 days)")
def repeat_incidents(context: Context) -> list[Row]:
    last_seen: dict[tuple[str, str], datetime] = {}
    repeats = 0
    for incident in context.rows:  # oldest first
        key = (incident["service"], incident["category"])
        previous = last_seen.get(key)
        if previous is not None and incident["detected_at"] - previous <= WINDOW:
            repeats += 1
        last_seen[key] = incident["detected_at"]
    total = len(context.rows)
    return [
        row(KEY, "count", repeats, unit="count", sample=total),
        row(KEY, "rate", ratio(repeats, total), unit="ratio", sample=total),
    ]
