"""Time to PIR: from the incident's resolution to its review's publication."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from incidents.metrics_selectors import review_rows
from metrics.kpis import Context, Row, register, row

KEY = "time_to_pir"
TARGET = timedelta(weeks=1)


@register(KEY, "Mean time from resolution to the published review")
def time_to_pir(context: Context) -> list[Row]:
    waits: dict[str, list[float]] = defaultdict(list)
    for review in review_rows(context.incidents):
        if review["published_at"] is not None:
            wait = review["published_at"] - review["resolved_at"]
            waits[review["severity"]].append(wait.total_seconds())
    return [
        row(
            KEY,
            severity,
            sum(seconds) / len(seconds),
            unit="seconds",
            sample=len(seconds),
            target=TARGET.total_seconds(),
        )
        for severity, seconds in sorted(waits.items())
    ]
