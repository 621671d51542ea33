"""Repeat incidents: the same service and category again within 30 days."""

from __future__ import annotations

from incidents.metrics_sla import repeat_count
from metrics.kpis import Context, Row, ratio, register, row

KEY = "repeat_incidents"


@register(KEY, "Repeat incidents (same service and category within 30 days)")
def repeat_incidents(context: Context) -> list[Row]:
    cells = sum(cell["repeats"] for cell in context.cells.values())
    repeats = repeat_count(context.uncelled()) + cells
    total = context.count()
    return [
        row(KEY, "count", repeats, unit="count", sample=total),
        row(KEY, "rate", ratio(repeats, total), unit="ratio", sample=total),
    ]
