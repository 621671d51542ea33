"""Response times and SLA compliance over a set of incident rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from metrics.periods import period_label
from metrics.rollups import Tally


def group_key(row: dict[str, Any], group_by: str, period: str) -> str:
    """Return the group an incident row falls in."""
    if group_by == "period":
        return period_label(row["detected_at"], period, row["time_zone"])
    return str(row[group_by])


def response_times(
    rows: Iterable[dict[str, Any]],
    group_by: str,
    period: str,
    tallies: dict[str, Tally] | None = None,
) -> list[dict[str, Any]]:
    """Return one flat row per group: incidents, never acknowledged, still
    unresolved, and count/mean/p50/p90 in seconds of every measure; over the
    rows and, added to them, the groups the rollups already tallied."""
    groups: dict[str, Tally] = defaultdict(Tally, tallies or {})
    for row in rows:
        groups[group_key(row, group_by, period)].add_row(row)
    return [{"group": key, **groups[key].figures()} for key in sorted(groups)]


def _late(
    start: datetime, end: datetime | None, target: timedelta, now: datetime
) -> bool:
    """Return whether the target was missed: reached late, or not reached
    and already past due."""
    return (end if end is not None else now) - start > target


def sla(
    rows: Iterable[dict[str, Any]], targets: list[dict[str, Any]], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return per severity the targets and how many incidents kept them, and
    the list of incidents that breached one."""
    by_code = {target["code"]: target for target in targets}
    tally = {
        code: {"incidents": 0, "ack_breaches": 0, "resolve_breaches": 0}
        for code in by_code
    }
    breaches = []
    for row in rows:
        target = by_code[row["severity"]]
        count = tally[row["severity"]]
        count["incidents"] += 1
        missed = []
        if _late(row["detected_at"], row["acknowledged_at"], target["ack_target"], now):
            count["ack_breaches"] += 1
            missed.append("acknowledge")
        resolve_target = target["resolve_target"]
        if resolve_target is not None and _late(
            row["detected_at"], row["resolved_at"], resolve_target, now
        ):
            count["resolve_breaches"] += 1
            missed.append("resolve")
        if missed:
            breaches.append(_breach(row, missed))
    summary_rows = []
    for code, target in by_code.items():
        count = tally[code]
        summary_rows.append(
            {
                "severity": code,
                "ack_target_seconds": target["ack_target"].total_seconds(),
                "resolve_target_seconds": (
                    target["resolve_target"].total_seconds()
                    if target["resolve_target"] is not None
                    else None
                ),
                **count,
                "ack_compliance": rate(count["incidents"], count["ack_breaches"]),
                "resolve_compliance": (
                    rate(count["incidents"], count["resolve_breaches"])
                    if target["resolve_target"] is not None
                    else None
                ),
            }
        )
    return summary_rows, breaches


def rate(total: int, missed: int) -> float | None:
    return (total - missed) / total if total else None


def _breach(row: dict[str, Any], missed: list[str]) -> dict[str, Any]:
    return {
        "incident": row["public_id"],
        "title": row["title"],
        "severity": row["severity"],
        "service": row["service"],
        "team": row["team"],
        "detected_at": row["detected_at"],
        "acknowledged_at": row["acknowledged_at"],
        "resolved_at": row["resolved_at"],
        "missed": ",".join(missed),
    }
