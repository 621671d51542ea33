"""Which status updates a cadence asked for, and which were posted in time.

One definition, read by the status-update KPI (metrics) and the drill
reports (escalation): the first update is due one cadence after detection,
each next one a cadence after the update that kept the last due time (or
after the missed due time), until the incident ended.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class UpdateSlot:
    """One update due at `due_at`; `posted_at` is the latest update that kept
    it (posted after the previous due time, by `due_at`), None if missed."""

    due_at: datetime
    posted_at: datetime | None

    @property
    def missed(self) -> bool:
        return self.posted_at is None


def _kept_slots(
    *,
    detected_at: datetime,
    end: datetime,
    posted: Sequence[datetime],
    cadence: timedelta,
) -> tuple[list[UpdateSlot], datetime]:
    """Return the updates due while posted ones remain to keep them, and
    the time the next one is due a cadence after."""
    slots: list[UpdateSlot] = []
    anchor = detected_at
    index = 0
    while index < len(posted) and anchor + cadence < end:
        due_at = anchor + cadence
        latest = None
        while index < len(posted) and posted[index] <= due_at:
            if posted[index] > anchor:
                latest = posted[index]
            index += 1
        slots.append(UpdateSlot(due_at=due_at, posted_at=latest))
        anchor = due_at if latest is None else latest
    return slots, anchor


def update_slots(
    *,
    detected_at: datetime,
    end: datetime,
    posted: Sequence[datetime],
    cadence: timedelta,
) -> list[UpdateSlot]:
    """Return the updates due from `detected_at` until `end` (resolved, or
    now), each with the update that kept it; `posted` is in time order."""
    slots, anchor = _kept_slots(
        detected_at=detected_at, end=end, posted=posted, cadence=cadence
    )
    while anchor + cadence < end:  # no update left: each one missed
        anchor += cadence
        slots.append(UpdateSlot(due_at=anchor, posted_at=None))
    return slots


def update_counts(
    *,
    detected_at: datetime,
    end: datetime,
    posted: Sequence[datetime],
    cadence: timedelta,
) -> tuple[int, int]:
    """Return (updates due, updates missed) as `update_slots` lists them,
    counting the missed ones after the last update without listing them (an
    incident open for years has hundreds of thousands)."""
    slots, anchor = _kept_slots(
        detected_at=detected_at, end=end, posted=posted, cadence=cadence
    )
    later = max(0, math.ceil((end - anchor) / cadence) - 1)
    return len(slots) + later, sum(slot.missed for slot in slots) + later
