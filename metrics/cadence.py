"""Status-update cadence: was each update due by the severity's cadence
posted in time, from detection until resolution?"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet

from incidents.cadence import update_counts
from incidents.metrics_selectors import metric_incident_rows, status_update_times
from incidents.metrics_sla import (
    EPOCH,
    unposted_missed_updates,
    with_status_updates,
)

MICROSECOND = timedelta(microseconds=1)


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
    *,
    unposted: QuerySet[Any],
    posted: QuerySet[Any],
    targets: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, tuple[int, int]]:
    """Return per severity with a cadence (updates due, updates missed): the
    database counts those of `unposted` that posted no update (each update
    due was missed); those of `posted` that did are walked update by update.
    Without rollups both are the same incidents."""
    tally = {
        severity: [missed, missed]
        for severity, missed in unposted_missed_updates(unposted, now=now).items()
    }
    talking = with_status_updates(posted)
    times = status_update_times(talking)
    for incident in metric_incident_rows(talking):
        cadence = targets[incident["severity"]]["update_cadence"]
        if cadence is None:
            continue
        due, missed = missed_updates(
            incident, times.get(incident["id"], []), cadence, now
        )
        counts = tally.setdefault(incident["severity"], [0, 0])
        counts[0] += due
        counts[1] += missed
    return {severity: (due, missed) for severity, (due, missed) in tally.items()}


def cadence_counts(
    *,
    unposted: QuerySet[Any],
    posted: QuerySet[Any],
    cells: dict[str, dict[str, int]],
    targets: dict[str, dict[str, Any]],
    now: datetime,
) -> dict[str, tuple[int, int]]:
    """Return per severity with a cadence (updates due, updates missed): the
    incidents' `cadence_tally`, plus the updates the rollups' cells say
    their incidents without any were due (each one missed): the resolved
    ones' as counted when the cells were built, the unresolved ones' by now
    from their cadence quotients and remainders (`open_below`: how many
    remainders are below now's)."""
    tally = cadence_tally(unposted=unposted, posted=posted, targets=targets, now=now)
    for severity, cell in cells.items():
        cadence = targets[severity]["update_cadence"]
        if cell["incidents"] and cadence is not None:
            quotient, _ = moment_periods(now, cadence)
            still_open = (
                cell["open_unposted"] * (quotient - 1)
                - cell["open_periods"]
                + cell["open_below"]
            )
            due, missed = tally.get(severity, (0, 0))
            more = cell["updates_missed"] + still_open
            tally[severity] = (due + more, missed + more)
    return tally


def moment_periods(moment: datetime, cadence: timedelta) -> tuple[int, int]:
    """Return the quotient and the remainder of `moment` (microseconds since
    the epoch) by `cadence` (in microseconds), as the cells' are taken."""
    return divmod((moment - EPOCH) // MICROSECOND, cadence // MICROSECOND)
