"""Escalations that reached level N: how often the first levels did not answer."""

from __future__ import annotations

from escalation.metrics_selectors import escalation_highest_levels
from metrics.kpis import Context, Row, register, row

KEY = "escalation_reached_level"


@register(KEY, "Escalations that reached level N")
def escalations_reached(context: Context) -> list[Row]:
    highest = escalation_highest_levels(incidents=context.incidents)
    total = sum(highest.values())
    top = max(highest, default=0)
    return [
        row(
            KEY,
            f"level {level}",
            sum(count for reached, count in highest.items() if reached >= level),
            unit="count",
            sample=total,
        )
        for level in range(1, top + 1)
    ]
