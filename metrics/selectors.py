"""The metrics reports: the caller's filters in, rows out.

Every figure is computed from the other apps' selectors, scoped to the
caller's teams; nothing here writes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from incidents.metrics_selectors import (
    duration_summaries,
    metric_duration_rows,
    metric_incidents,
    metric_services,
    service_downtime,
    severity_targets,
)
from incidents.metrics_sla import BreachRows, sla_counts
from incidents.selectors import User
from metrics import figures, kpis
from metrics.availability import availability
from metrics.cadence import moment_periods
from metrics.definitions import DURATIONS, PERCENTILES
from metrics.rollup_reads import (
    Rolled,
    cell_counts,
    cells_answer,
    day_spans,
    open_remainders_below,
    plan,
    rolled_days,
    rollup_cells,
)
from metrics.services import SETTLE

AVAILABILITY_WINDOW = timedelta(days=30)


def response_time_report(
    *, user: User, filters: dict[str, Any], group_by: str, period: str
) -> list[dict[str, Any]]:
    """Return the response times per group. Where the cells answer
    (`cells_answer`), the rolled-up days from the cells (month and week
    cells for whole months and weeks, the day's shaped cells for the other
    days) and the rest (recent or dirty days, restricted incidents, the
    partial days at `since` and `until`) from the incidents. Otherwise (by
    day over days of few incidents) the database summarises the incidents
    themselves where it can, exactly: one row per group."""
    rolled = rolled_days(since=filters["since"], until=filters["until"])
    planned = plan(user, filters, group_by, period, rolled)
    if not cells_answer(filters, group_by, period, planned):
        summaries = duration_summaries(
            metric_incidents(user=user, **filters),
            group_by=group_by,
            period=period,
            durations=DURATIONS,
            fractions=PERCENTILES,
        )
        if summaries is not None:
            return figures.summarised(summaries, group_by, period)
    cells = rollup_cells(
        user=user, filters=filters, planned=planned, group_by=group_by, period=period
    )
    rows = metric_duration_rows(
        metric_incidents(user=user, rolled_up=day_spans(rolled.days), **filters),
        group_by=group_by,
        durations=DURATIONS,
    )
    return figures.response_times(rows, group_by, period, cells)


def sla_report(
    *, user: User, filters: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Return per severity the targets, incidents, breaches, compliance and
    status-update cadence: the rolled-up days from their cells, the rest
    from the incidents (`_sla_context`), counted by the database."""
    context = _sla_context(user, filters, now)
    counts = sla_counts(context.uncelled(), now=now)
    for severity, cell in context.cells.items():
        total = counts.setdefault(
            severity, {"incidents": 0, "ack_breaches": 0, "resolve_breaches": 0}
        )
        for name in total:
            total[name] += cell[name]
    summary_rows = figures.sla(counts, list(context.targets.values()))
    tally = context.update_cadence()
    for summary_row in summary_rows:
        due, missed = tally.get(summary_row["severity"], (0, 0))
        summary_row["updates_due"] = due
        summary_row["updates_missed"] = missed
        summary_row["update_compliance"] = figures.rate(due, missed)
    return summary_rows


def _sla_context(user: User, filters: dict[str, Any], now: datetime) -> kpis.Context:
    """Return the incidents the filters select and the rollups' share of
    them. Only the incidents that posted updates are walked one by one. The
    cells hold whether a target was missed when they were built, which is
    final only when every target is shorter than the time a day waits to be
    rolled up; otherwise everything is read from the incidents. The
    cadence of their unresolved incidents without updates grows until they
    are resolved: it is counted by now from what the cells hold of it and
    how many of their remainders are below now's (`open_below`)."""
    targets = _targets()
    rolled, cells = _rolled_cells(user, filters, targets)
    bounds = {
        severity: moment_periods(now, targets[severity]["update_cadence"])[1]
        for severity, cell in cells.items()
        if cell["open_unposted"] and targets[severity]["update_cadence"] is not None
    }
    below = open_remainders_below(
        user=user, filters=filters, rolled=rolled, bounds=bounds
    )
    for severity, cell in cells.items():
        cell["open_below"] = below.get(severity, 0)
    return kpis.Context(
        incidents=metric_incidents(user=user, **filters),
        now=now,
        targets=targets,
        cells=cells,
        raw=metric_incidents(user=user, rolled_up=day_spans(rolled.days), **filters),
    )


def _targets() -> dict[str, dict[str, Any]]:
    return {target["code"]: target for target in severity_targets()}


def _rolled_cells(
    user: User, filters: dict[str, Any], targets: dict[str, dict[str, Any]]
) -> tuple[Rolled, dict[str, dict[str, int]]]:
    """Return the rolled-up days the filters ask for and their cells' counts
    per severity (`cell_counts`): none when a target is longer than the time
    a day waits to be rolled up."""
    rolled = (
        rolled_days(since=filters["since"], until=filters["until"])
        if all(_settled(target) for target in targets.values())
        else Rolled([])
    )
    return rolled, cell_counts(user=user, filters=filters, rolled=rolled)


def _settled(target: dict[str, Any]) -> bool:
    """Whether a severity's targets are all decided by the time a day is
    rolled up."""
    return all(
        target[name] is None or target[name] <= SETTLE
        for name in ("ack_target", "resolve_target")
    )


def sla_breaches(*, user: User, filters: dict[str, Any], now: datetime) -> BreachRows:
    """Return the incidents that breached a target, newest first, as the
    breach list shows them: read a page at a time, all of them or their
    count (`BreachRows`)."""
    rolled, cells = _rolled_cells(user, filters, _targets())
    return BreachRows(
        metric_incidents(user=user, **filters),
        now=now,
        shape=figures.breach,
        uncounted=metric_incidents(
            user=user, rolled_up=day_spans(rolled.days), **filters
        ),
        counted=sum(cell["breaches"] for cell in cells.values()),
    )


def kpi_report(
    *, user: User, filters: dict[str, Any], now: datetime, keys: list[str] | None
) -> list[kpis.Row]:
    return kpis.compute(_sla_context(user, filters, now), keys)


def availability_report(
    *, user: User, filters: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Return each service's availability over [since, until): the last 30
    days by default."""
    end = filters.pop("until", None) or now
    start = filters.pop("since", None) or end - AVAILABILITY_WINDOW
    services = metric_services(user=user, services=filters["services"])
    if filters["teams"]:
        services = [s for s in services if s["team__slug"] in filters["teams"]]
    incidents = metric_incidents(user=user, **filters)
    return availability(
        services,
        service_downtime(incidents, between=(start, end), now=now),
        start,
        end,
    )
