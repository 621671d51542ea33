"""Reading the rollups: which days they answer, and their tallies per group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from django.db.models import DateField, F, Q, Sum
from django.db.models.functions import Trunc

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


def _scope(
    user: User,
    filters: dict[str, Any],
    days: list[date],
    services: list[dict[str, Any]],
) -> Callable[[Any], Any]:
    """Return a function giving the rows of a rollup model on `days` that the
    filters and `user`'s teams select."""
    team_ids = {row["team_id"] for row in metric_services(user=user)}
    by_slug = {row["slug"]: row for row in services}
    conditions = Q(
        day__gte=days[0],
        day__lte=days[-1],
        is_drill=filters["drills"],
        team_id__in=team_ids,
    )
    skipped = sorted(
        {days[0] + timedelta(days=n) for n in range((days[-1] - days[0]).days)}
        - set(days)
    )
    if skipped:
        conditions &= ~Q(day__in=skipped)
    if filters["severities"]:
        conditions &= Q(severity__in=filters["severities"])
    if filters["services"]:
        conditions &= Q(service_id__in=[by_slug[s]["id"] for s in filters["services"]])
    if filters["teams"]:
        conditions &= Q(
            team_id__in={
                row["team_id"]
                for row in services
                if row["team__slug"] in filters["teams"]
            }
        )
    if filters["categories"]:
        conditions &= Q(category__in=filters["categories"])
    return lambda model: model.objects.filter(conditions)


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
    scope = _scope(user, filters, days, services)
    key: Any = F(column)
    if group_by == "period" and period != "day":
        # The database folds days into weeks, months or quarters (their
        # first day), so each period comes back once.
        key = Trunc(column, period, output_field=DateField())

    @cache  # one label per distinct group value, not per bucket row
    def label(value: Any) -> str:
        if group_by == "period":
            return day_label(value, period)
        return names[group_by][value] if group_by in names else str(value)

    tallies: dict[str, Tally] = defaultdict(Tally)
    counts = (
        scope(RollupCell)
        .values(group=key)
        .annotate(
            incidents=Sum("incidents"),
            never_acknowledged=Sum("never_acknowledged"),
            unresolved=Sum("unresolved"),
        )
        .order_by()
    )
    for row in counts:
        tallies[label(row["group"])].add_counts(
            row["incidents"], row["never_acknowledged"], row["unresolved"]
        )
    buckets = (
        scope(RollupBucket)
        .values("measure", "bucket", group=key)
        .annotate(count=Sum("count"), total=Sum("total"))
        .order_by()
    )
    for row in buckets:
        tallies[label(row["group"])].add_bucket(
            row["measure"], row["bucket"], row["count"], row["total"]
        )
    return dict(tallies)
