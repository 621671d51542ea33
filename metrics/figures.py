"""Response times and SLA compliance over a set of incident rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from metrics.periods import day_label
from metrics.rollups import Cells, Tally, tally_figures


def response_times(
    rows: Iterable[dict[str, Any]],
    group_by: str,
    period: str,
    cells: Cells | None = None,
) -> list[dict[str, Any]]:
    """Return one flat row per group: incidents, never acknowledged, still
    unresolved, and count/mean/p50/p90 in seconds of every measure; over the
    rows (as `metric_duration_rows` yields them) and, added to them, the
    figures of the cells' groups."""
    groups: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        group = row["group"]
        label = day_label(group, period) if group_by == "period" else str(group)
        groups[label].add_row(row)
    return tally_figures(groups, cells or Cells.read([]))


def summarised(
    summaries: list[dict[str, Any]], group_by: str, period: str
) -> list[dict[str, Any]]:
    """Return the rows `response_times` returns from the database's own
    per-group summaries (a period's group is its first local day)."""
    rows = [
        {
            **summary,
            "group": (
                day_label(summary["group"], period)
                if group_by == "period"
                else str(summary["group"])
            ),
        }
        for summary in summaries
    ]
    return sorted(rows, key=lambda row: row["group"])


def sla(
    counts: dict[str, dict[str, int]], targets: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return per severity the targets and how many incidents kept them,
    from the counts of incidents and breaches per severity."""
    summary_rows = []
    for target in targets:
        count = counts.get(
            target["code"], {"incidents": 0, "ack_breaches": 0, "resolve_breaches": 0}
        )
        resolve_target = target["resolve_target"]
        summary_rows.append(
            {
                "severity": target["code"],
                "ack_target_seconds": target["ack_target"].total_seconds(),
                "resolve_target_seconds": (
                    resolve_target.total_seconds()
                    if resolve_target is not None
                    else None
                ),
                **count,
                "ack_compliance": rate(count["incidents"], count["ack_breaches"]),
                "resolve_compliance": (
                    rate(count["incidents"], count["resolve_breaches"])
                    if resolve_target is not None
                    else None
                ),
            }
        )
    return summary_rows


def rate(total: int, missed: int) -> float | None:
    return (total - missed) / total if total else None


def breach(row: dict[str, Any]) -> dict[str, Any]:
    """Return a breaching incident's row as the breach list shows it."""
    missed = [
        name
        for name, flag in (("acknowledge", "ack_missed"), ("resolve", "resolve_missed"))
        if row[flag]
    ]
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
