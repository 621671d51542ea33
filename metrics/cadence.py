"""Status-update cadence: was each update due by the severity's cadence
posted in time, from detection until resolution?"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from incidents.metrics_selectors import status_update_times


def missed_updates(
    incident: dict[str, Any], posted: list[datetime], cadence: timedelta, now: datetime
) -> tuple[int, int]:
    """Return (updates due, updates missed) of one incident: the first is due
    `cadence` after detection, each next one `cadence` after the last update
    (or after the missed due time), until the incident is resolved."""
    end = incident["resolved_at"] or now
    anchor = incident["detected_at"]
    due = missed = index = 0
    while index < len(posted) and anchor + cadence < end:
        due_at = anchor + cadence
        due += 1
        latest = None
        while index < len(posted) and posted[index] <= due_at:
            if posted[index] > anchor:
                latest = posted[index]
            index += 1
        if latest is None:
            missed += 1
            anchor = due_at
        else:
            anchor = latest
    # No update left: every further due time, anchor + k * cadence before
    # the end, is missed.
    if anchor + cadence < end:
        later = math.ceil((end - anchor) / cadence) - 1
        due += later
        missed += later
    return due, missed


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
