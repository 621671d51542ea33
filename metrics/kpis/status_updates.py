"""Status-update cadence: was each update due by the severity's cadence
posted in time, from detection until resolution?"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from incidents.cadence import update_slots
from incidents.metrics_selectors import status_update_times
from metrics.kpis import Context, Row, ratio, register, row

KEY = "status_update_cadence"


def missed_updates(
    incident: dict[str, Any], posted: list[datetime], cadence: timedelta, now: datetime
) -> tuple[int, int]:
    """Return (updates due, updates missed) of one incident, until it is
    resolved (`incidents.cadence` says which updates are due)."""
    slots = update_slots(
        detected_at=incident["detected_at"],
        end=incident["resolved_at"] or now,
        posted=posted,
        cadence=cadence,
    )
    return len(slots), sum(slot.missed for slot in slots)


@register(KEY, "Status updates posted on the severity's cadence")
def cadence_kept(context: Context) -> list[Row]:
    posted = status_update_times(context.incidents)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for incident in context.rows:
        cadence = context.targets[incident["severity"]]["update_cadence"]
        if cadence is None:
            continue
        due, missed = missed_updates(
            incident, posted.get(incident["id"], []), cadence, context.now
        )
        tally[incident["severity"]][0] += due
        tally[incident["severity"]][1] += missed
    return [
        row(
            KEY,
            severity,
            ratio(due - missed, due),
            unit="ratio",
            sample=due,
            target=1.0,
        )
        for severity, (due, missed) in sorted(tally.items())
    ]
