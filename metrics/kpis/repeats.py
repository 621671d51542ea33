"""Repeat incidents: the same service and category again within 30 days."""

from __future__ import annotations

from datetime import timedelta

from incidents.metrics_sla import repeat_count
from metrics.kpis import Context, Row, ratio, register, row

KEY = "repeat_incidents"
WINDOW = timedelta(days=30)


@register(KEY, "Repeat incidents (same service and category within 30 days)")
def repeat_incidents(context: Context) -> list[Row]:
    repeats = repeat_count(context.incidents, window=WINDOW)
    total = context.count()
    return [
        row(KEY, "count", repeats, unit="count", sample=total),
        row(KEY, "rate", ratio(repeats, total), unit="ratio", sample=total),
    ]
