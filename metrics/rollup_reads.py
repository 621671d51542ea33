"""Reading the rollups: which days they answer, and their tallies per group."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Sum

from incidents.metrics_selectors import metric_services, service_zones
from incidents.selectors import User
from metrics.models import RollupBucket, RollupCell, RollupDirty, RollupState
from metrics.periods import day_label
from metrics.rollups import Tally, day_start
from metrics.services import rollup_fingerprint

# The cell column each grouping reads.
GROUP_COLUMN = {
    "severity": "severity",
    "service": "service_id",
    "team": "team_id",
    "category": "category",
    "period": "local_day",
}


def rolled_days(*, since: datetime | None, until: datetime | None) -> list[date]:
    """Return the UTC days wholly in [since, until) whose cells are built
    and not dirty; none while the cells were built for another layout of
    services, teams and time zones."""
    state = RollupState.objects.filter(pk=1).first()
    if (
        state is None
        or state.covered_from is None
        or state.covered_until is None
        or state.fingerprint != rollup_fingerprint()
    ):
        return []
    first, end = state.covered_from, state.covered_until
    if since is not None:
        since = since.astimezone(UTC)
        first = max(
            first, since.date() + timedelta(days=since != day_start(since.date()))
        )
    if until is not None:
        end = min(end, until.astimezone(UTC).date())
    if first >= end:
        return []
    dirty = set(
        RollupDirty.objects.filter(day__gte=first, day__lt=end).values_list(
            "day", flat=True
        )
    )
    return [
        day
        for day in (first + timedelta(days=n) for n in range((end - first).days))
        if day not in dirty
    ]


def day_spans(days: list[date]) -> list[tuple[datetime, datetime]]:
    """Return the days (ascending) as the fewest [start, end) spans of time."""
    spans: list[tuple[datetime, datetime]] = []
    for day in days:
        start = day_start(day)
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], start + timedelta(days=1))
        else:
            spans.append((start, start + timedelta(days=1)))
    return spans


def _cells(model: Any, user: User, filters: dict[str, Any], days: list[date]) -> Any:
    """The rows of `model` on the days that the filters and `user`'s teams select."""
    visible = metric_services(user=user)
    team_ids = {row["team_id"] for row in visible}
    by_slug = {row["slug"]: row for row in service_zones()}
    rows = model.objects.filter(
        day__gte=days[0], day__lte=days[-1], is_drill=filters["drills"]
    ).filter(team_id__in=team_ids)
    skipped = sorted(
        set(days[0] + timedelta(days=n) for n in range((days[-1] - days[0]).days))
        - set(days)
    )
    if skipped:
        rows = rows.exclude(day__in=skipped)
    if filters["severities"]:
        rows = rows.filter(severity__in=filters["severities"])
    if filters["services"]:
        rows = rows.filter(
            service_id__in=[by_slug[s]["id"] for s in filters["services"]]
        )
    if filters["teams"]:
        rows = rows.filter(
            team_id__in={
                row["team_id"]
                for row in by_slug.values()
                if row["team__slug"] in filters["teams"]
            }
        )
    if filters["categories"]:
        rows = rows.filter(category__in=filters["categories"])
    return rows


def rollup_tallies(
    *,
    user: User,
    filters: dict[str, Any],
    days: list[date],
    group_by: str,
    period: str,
) -> dict[str, Tally]:
    """Return, per group, the tally of the cells of `days`."""
    if not days:
        return {}
    services = service_zones()
    names: dict[str, dict[Any, str]] = {
        "service": {s["id"]: s["slug"] for s in services},
        "team": {s["team_id"]: s["team__slug"] for s in services},
    }
    column = GROUP_COLUMN[group_by]

    def label(value: Any) -> str:
        if group_by == "period":
            return day_label(value, period)
        return names[group_by][value] if group_by in names else str(value)

    tallies: dict[str, Tally] = defaultdict(Tally)
    counts = (
        _cells(RollupCell, user, filters, days)
        .values(column)
        .annotate(
            incidents=Sum("incidents"),
            never_acknowledged=Sum("never_acknowledged"),
            unresolved=Sum("unresolved"),
        )
        .order_by()
    )
    for row in counts:
        tallies[label(row[column])].add_counts(
            row["incidents"], row["never_acknowledged"], row["unresolved"]
        )
    buckets = (
        _cells(RollupBucket, user, filters, days)
        .values(column, "measure", "bucket")
        .annotate(count=Sum("count"), total=Sum("total"))
        .order_by()
    )
    for row in buckets:
        tallies[label(row[column])].add_bucket(
            row["measure"], row["bucket"], row["count"], row["total"]
        )
    return dict(tallies)
