"""Status-update cadence: was each update due by the severity's cadence
posted in time, from detection until resolution?"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from incidents.cadence import update_counts
from incidents.metrics_selectors import status_update_times


def missed_updates(
    incident: dict[str, Any], posted: list[datetime], cadence: timedelta, now: datetime
) -> tuple[int, int]:
    """Return (updates due, updates missed) of one incident, until it is
    resolved (`incidents.cadence` says which updates are due)."""
    return update_counts(
        detected_at=incident["detected_at"],
        end=incident["resolved_at"] or now,
        posted=posted,
        cadence=cadence,
    )


def cadence_tally(
    incidents: QuerySet[Any],
    rows: Iterable[dict[str, Any]],
    targets: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, tuple[int, int]]:
    """Return per severity with a cadence (updates due, updates missed) over
    the incidents (`rows` are the same, as metrics rows)."""
    posted = status_update_times(incidents)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for incident in rows:
        cadence = targets[incident["severity"]]["update_cadence"]
        if cadence is None:
            continue
        due, missed = missed_updates(
            incident, posted.get(incident["id"], []), cadence, now
        )
        tally[incident["severity"]][0] += due
        tally[incident["severity"]][1] += missed
    return {severity: (due, missed) for severity, (due, missed) in tally.items()}
