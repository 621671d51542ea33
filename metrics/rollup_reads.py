"""Reading the rollups: which days they answer, and their tallies per group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from typing import Any

import numpy as np
import psycopg
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import (
    Aggregate,
    BinaryField,
    Count,
    DateField,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Cast, Trunc

from incidents.metrics_selectors import incident_totals, metric_services, service_zones
from incidents.selectors import User
from metrics.definitions import MEASURES
from metrics.models import (
    RollupBucket,
    RollupCell,
    RollupDeclared,
    RollupDirty,
    RollupOpenUpdate,
    RollupShapeCell,
    RollupShapeHistogram,
    RollupState,
)
from metrics.periods import day_label
from metrics.rollups import (
    SHAPE_BUCKETS,
    Tally,
    added_up,
    day_runs,
    day_start,
    grain_end,
    grain_start,
    month_end,
    runs,
    unpack,
    unpack_totals,
)
from metrics.services import CELL_COUNTS, GRAINS, rollup_fingerprint

# The column of a day cell or shaped cell each grouping reads.
GROUP_COLUMN = {
    "severity": "severity",
    "service": "service_id",
    "team": "team_id",
    "category": "category",
    "period": "local_day",
}
SHAPE_GROUP_COLUMN = GROUP_COLUMN | {"period": "local_start"}
# What reading a day from its day cells costs, in days of a summary of the
# incidents (measured at the bench's million incidents, by service with one
# category: about 2 ms against 0.45 ms, the day cells' bucket rows read in
# the binary format and added up by numpy).
DAY_CELL_COST = 5
# What a group of one day read from shaped cells costs (its cells' histograms
# merged, its percentiles read off), in incidents of a summary.
DAY_GROUP_COST = 30


@dataclass(frozen=True)
class Rolled:
    """The UTC days of a request the cells answer, and the days
    [covered_from, covered_until) the cells were built for."""

    days: list[date]
    covered_from: date | None = None
    covered_until: date | None = None


def rolled_days(*, since: datetime | None, until: datetime | None) -> Rolled:
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
        return Rolled([])
    first, end = state.covered_from, state.covered_until
    if since is not None:
        since = since.astimezone(UTC)
        first = max(
            first, since.date() + timedelta(days=since != day_start(since.date()))
        )
    if until is not None:
        end = min(end, until.astimezone(UTC).date())
    if first >= end:
        return Rolled([])
    dirty = set(
        RollupDirty.objects.filter(day__gte=first, day__lt=end).values_list(
            "day", flat=True
        )
    )
    days = [
        day
        for day in (first + timedelta(days=n) for n in range((end - first).days))
        if day not in dirty
    ]
    return Rolled(days, state.covered_from, state.covered_until)


def day_spans(days: list[date]) -> list[tuple[datetime, datetime]]:
    """Return the days (ascending) as the fewest [start, end) spans of time."""
    return [
        (day_start(first), day_start(last + timedelta(days=1)))
        for first, last in day_runs(days)
    ]


def whole_periods(rolled: Rolled, grain: str) -> list[date]:
    """Return the UTC weeks or months (their first days) all of whose
    covered days are in `rolled.days`: their cells hold exactly those days.
    The first one of the history and the current one are covered in part.
    Such a period lies within one run of consecutive days."""
    if rolled.covered_from is None or rolled.covered_until is None:
        return []
    found = []
    for first, last in day_runs(rolled.days):
        start = grain_start(first, grain)
        while start <= last:
            end = grain_end(start, grain)
            if max(start, rolled.covered_from) >= first and min(
                end, rolled.covered_until
            ) <= last + timedelta(days=1):
                found.append(start)
            start = end
    return found


def _user_teams(user: User, services: list[dict[str, Any]]) -> set[int] | None:
    """Return `user`'s teams (`services`: every service), or None where they
    are every team with services: cells are only of those (while their
    layout is the cells'), so no condition on the team is needed."""
    team_ids = {row["team_id"] for row in metric_services(user=user)}
    return None if {row["team_id"] for row in services} <= team_ids else team_ids


def _keys(user: User, filters: dict[str, Any], services: list[dict[str, Any]]) -> Q:
    """Return the conditions on a cell's keys that the filters and `user`'s
    teams set (`services`: every service)."""
    team_ids = _user_teams(user, services)
    by_slug = {row["slug"]: row for row in services}
    conditions = Q(is_drill=filters["drills"])
    if team_ids is not None:
        conditions &= Q(team_id__in=team_ids)
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
    return conditions


def _within(column: str, firsts: list[date], following: Callable[[date], date]) -> Q:
    """Return the condition that `column` is one of `firsts` (ascending), as
    one range per run of them (`following` gives the next of each)."""
    condition = Q()
    for low, high in runs(firsts, following):
        condition |= Q(**{f"{column}__gte": low, f"{column}__lte": high})
    return condition


def _next_day(day: date) -> date:
    return day + timedelta(days=1)


def _coarse_grains(group_by: str, period: str) -> tuple[str, ...]:
    """Return the grains of the cells that can answer whole periods of the
    grouping, coarsest first: weeks by week, months by month or quarter,
    months then weeks by anything but a period (a week's local week need
    not fall in one month); none by day."""
    if group_by != "period":
        return ("month", "week")
    return {"day": (), "week": ("week",)}.get(period, ("month",))


@dataclass(frozen=True)
class Plan:
    """Which cells answer a request's rolled-up days (`rolled`): the shape
    it needs, the coarse cells that answer whole periods of it (each grain
    with those periods' first days, coarsest first) and the days outside
    them."""

    rolled: Rolled
    shape: int
    coarse: list[tuple[str, list[date]]]
    rest: list[date]


def plan(
    user: User, filters: dict[str, Any], group_by: str, period: str, rolled: Rolled
) -> Plan:
    """Return the plan of `user`'s request: whole months first, then whole
    weeks of the days left, where the grain has cells of the shape; days
    for the rest."""
    shape = _shape(
        filters, group_by, every_team=_user_teams(user, service_zones()) is None
    )
    coarse = []
    left = rolled
    for grain in _coarse_grains(group_by, period):
        whole = whole_periods(left, grain) if _has_shape(grain, shape) else []
        if whole:
            coarse.append((grain, whole))
            inside = {
                start + timedelta(days=n)
                for start in whole
                for n in range((grain_end(start, grain) - start).days)
            }
            left = Rolled(
                [day for day in left.days if day not in inside],
                left.covered_from,
                left.covered_until,
            )
    return Plan(rolled, shape, coarse, left.days)


def cells_answer(
    user: User, filters: dict[str, Any], group_by: str, period: str, planned: Plan
) -> bool:
    """Whether the cells answer the request's rolled-up days for less than
    a summary of their incidents would cost. Where its days have shaped
    cells of the shape it needs (a few dozen a day at most, however many
    incidents), they do, but by day: a day's group costs as much as about
    30 incidents, so only where their months' cells hold more incidents
    than that a day. By service and category only days' day cells keep
    both, a day's about 5 times its incidents' share of a summary: then
    only where month cells answer whole months of it and the other days
    are under a fifth of the request's."""
    days = planned.rolled.days
    if _has_shape("day", planned.shape):
        if not days or (group_by, period) != ("period", "day"):
            return bool(days)
        # How many a day, from the few month cells of those days' months.
        months = sorted({grain_start(day, "month") for day in planned.rest})
        scope = _keys(user, filters, service_zones()) & Q(
            grain="month", shape=planned.shape
        )
        held = RollupShapeCell.objects.filter(
            scope & _within("start", months, month_end)
        ).aggregate(incidents=Sum("incidents"))["incidents"]
        spanned = sum((month_end(month) - month).days for month in months)
        return (held or 0) > DAY_GROUP_COST * spanned
    if not planned.coarse:
        return False
    return len(planned.rest) * DAY_CELL_COST < len(days)


def _has_shape(grain: str, shape: int) -> bool:
    """Whether the grain's cells have the shape."""
    return any(kept["shape"] == shape for kept in GRAINS[grain][1])


def _shape(filters: dict[str, Any], group_by: str, *, every_team: bool) -> int:
    """Return the shape of the coarsest cells that answer the grouping and
    filters: 1 if they must keep the service, plus 2 if the category (the
    one asked for or grouped by); 4 (every team and severity) by period
    alone, of every team (`every_team`: the reader's)."""
    kept = (
        (1, "services", "service_id"),
        (2, "categories", "category"),
    )
    alone = group_by == "period" and not any(
        filters[key] for key in ("services", "categories", "teams", "severities")
    )
    if alone and every_team:
        return 4
    return sum(
        weight
        for weight, key, name in kept
        if filters[key] or GROUP_COLUMN[group_by] == name
    )


class Joined(Aggregate):
    """The group's byte strings end to end, in no given order (packed
    histograms and sums: `rollups.unpack` and `unpack_totals` read them
    together)."""

    output_field = BinaryField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="STRING_AGG(%(expressions)s, ''::bytea)"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # SQLite joins text only: as hexadecimal digits, read back as bytes.
        return self.as_sql(
            compiler, connection, template="GROUP_CONCAT(HEX(%(expressions)s), '')"
        )

    def get_db_converters(self, connection: Any) -> list[Any]:
        converters = super().get_db_converters(connection)
        if connection.vendor == "sqlite":
            converters.append(lambda value, *args: bytes.fromhex(value))
        return converters


def _fetched(rows: QuerySet[Any, tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Return the rows of a values_list query. PostgreSQL sends them in its
    binary format, not as the text Django's cursors ask for: a packed
    histogram as its bytes, not twice as many hexadecimal digits to decode,
    and numbers as numbers, which need none of Django's converters (the
    query's columns are all dates, numbers, text and bytes)."""
    if connection.vendor != "postgresql":
        return list(rows)
    sql, params = rows.query.sql_with_params()
    connection.ensure_connection()
    binary = psycopg.Cursor(connection.connection)
    binary.format = psycopg.pq.Format.BINARY
    # Wrapped as Django wraps its own: its errors, wrappers and query log.
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(binary, connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# A group's histograms, or part of them: (group, counts by measure (in
# MEASURES' order) and bucket, the sums of their durations by measure).
Histogram = tuple[Any, np.ndarray, np.ndarray]


def _day_histograms(scope: Q, key: Any) -> Iterable[Histogram]:
    """The day cells' buckets per group and measure, summed by the database
    (a row per bucket, as tuples: tens of thousands of them), each added to
    its group, measure and bucket at once."""
    rows = _fetched(
        RollupBucket.objects.filter(scope)
        .values("measure", "bucket", group=key)
        .annotate(count=Sum("count"), total=Sum("total"))
        .order_by()
        .values_list("group", "measure", "bucket", "count", "total")
    )
    if not rows:
        return
    groups: dict[Any, int] = {}
    places = {measure.key: place for place, measure in enumerate(MEASURES)}
    owners = np.array([groups.setdefault(row[0], len(groups)) for row in rows])
    measures = np.array([places[row[1]] for row in rows])
    buckets = np.array([row[2] for row in rows])
    counts = added_up(owners, measures, buckets, [row[3] for row in rows], len(groups))
    sums = np.zeros((len(groups), len(MEASURES)))
    np.add.at(sums, (owners, measures), [row[4] for row in rows])
    for group, n in groups.items():
        yield group, counts[n], sums[n]


def _shaped_histograms(scope: Q, key: Any) -> Iterable[Histogram]:
    """The shaped cells' histograms per group: the database joins their
    packed histograms, and their packed sums, one row a group."""
    rows = _fetched(
        RollupShapeHistogram.objects.filter(scope)
        .values(group=key)
        .annotate(packed=Joined("histograms"), totals=Joined("totals"))
        .order_by()
        .values_list("group", "packed", "totals")
    )
    counts = unpack([packed for _, packed, _ in rows])
    sums = unpack_totals([totals for _, _, totals in rows])
    for n, (group, _, _) in enumerate(rows):
        yield group, counts[n], sums[n]


@dataclass(frozen=True)
class Part:
    """Cells that answer part of a request: their model, which of them
    (`scope`), the column a grouping reads, their grain (the period of their
    local column), their histograms and the buckets' width."""

    cells: Any
    scope: Q
    columns: dict[str, str]
    grain: str
    histograms: Callable[[Q, Any], Iterable[Histogram]]
    width: int


def _parts(
    user: User, filters: dict[str, Any], planned: Plan, services: list[dict[str, Any]]
) -> list[Part]:
    """Return the cells of the plan's days: the month and week cells where
    whole UTC months and weeks of them can answer the grouping, the day
    cells for the rest, of the coarsest shape that answers (the day cells
    themselves where a day has no shaped cells of it)."""
    keys = _keys(user, filters, services)
    parts = []
    for grain, firsts in (*planned.coarse, ("day", planned.rest)):
        if not firsts:
            continue
        if not _has_shape(grain, planned.shape):  # a day's cells by service, category
            scope = keys & _within("day", firsts, _next_day)
            parts.append(
                Part(RollupCell, scope, GROUP_COLUMN, grain, _day_histograms, 1)
            )
            continue
        scope = keys & Q(grain=grain, shape=planned.shape)
        parts.append(
            Part(
                RollupShapeCell,
                scope & _within("start", firsts, partial(grain_end, grain=grain)),
                SHAPE_GROUP_COLUMN,
                grain,
                _shaped_histograms,
                SHAPE_BUCKETS,
            )
        )
    return parts


def rollup_tallies(
    *, user: User, filters: dict[str, Any], planned: Plan, group_by: str, period: str
) -> dict[str, Tally]:
    """Return, per group, the tally of the cells of the plan's days: of the
    month and week cells where whole UTC months and weeks of them answer, of
    the day cells for the rest."""
    if not planned.rolled.days:
        return {}
    services = service_zones()
    names: dict[str, dict[Any, str]] = {
        "service": {s["id"]: s["slug"] for s in services},
        "team": {s["team_id"]: s["team__slug"] for s in services},
    }

    @cache  # one label per distinct group value, not per bucket row
    def label(value: Any) -> str:
        if group_by == "period":
            return day_label(value, period)
        return names[group_by][value] if group_by in names else str(value)

    tallies: dict[str, Tally] = defaultdict(Tally)
    for part in _parts(user, filters, planned, services):
        _add(tallies, label, part, _group(part, group_by, period))
    return dict(tallies)


def cell_counts(
    *, user: User, filters: dict[str, Any], rolled: Rolled
) -> dict[str, dict[str, int]]:
    """Return per severity the sums of the cells' CELL_COUNTS over the
    rolled days: what the SLA view, the KPIs and the breach list's count
    read of them."""
    if not rolled.days:
        return {}
    counts: dict[str, dict[str, int]] = {}
    planned = plan(user, filters, "severity", "month", rolled)
    for part in _parts(user, filters, planned, service_zones()):
        rows = (
            part.cells.objects.filter(part.scope)
            .values("severity")
            .annotate(**{name: Sum(name) for name in CELL_COUNTS})
            .order_by()
        )
        for row in rows:
            total = counts.setdefault(
                row.pop("severity"), dict.fromkeys(CELL_COUNTS, 0)
            )
            for name in CELL_COUNTS:
                total[name] += row[name]
    return counts


def open_remainders_below(
    *, user: User, filters: dict[str, Any], rolled: Rolled, bounds: dict[str, int]
) -> dict[str, int]:
    """Return per severity how many of the rolled days' unresolved incidents
    without a status update have a cadence remainder below the severity's
    bound (`RollupOpenUpdate`)."""
    if not rolled.days or not bounds:
        return {}
    scope = _keys(user, filters, service_zones()) & _within(
        "day", rolled.days, _next_day
    )
    names = {f"below_{n}": severity for n, severity in enumerate(bounds)}
    counts = RollupOpenUpdate.objects.filter(scope).aggregate(
        **{
            name: Count(
                "pk", filter=Q(severity=severity, remainder__lt=bounds[severity])
            )
            for name, severity in names.items()
        }
    )
    return {severity: counts[name] for name, severity in names.items()}


def _group(part: Part, group_by: str, period: str) -> Any:
    """Return the expression of a cell's group: the column, or for a period
    coarser than the cells' grain, the database folds their local day or
    month into the period's first day, so each period comes back once."""
    column = part.columns[group_by]
    if group_by == "period" and period != part.grain:
        return Cast(Trunc(column, period), DateField())
    return F(column)


def _add(
    tallies: dict[str, Tally], label: Callable[[Any], str], part: Part, key: Any
) -> None:
    """Add to the tallies the cells and buckets of `part`, summed by the
    database per group (`key`)."""
    counts = (
        part.cells.objects.filter(part.scope)
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
    for group, counts, sums in part.histograms(part.scope, key):
        tallies[label(group)].add_buckets(counts, sums, part.width)


def declared_totals() -> list[dict[str, Any]]:
    """Return the incidents ever declared, counted by severity and drill
    flag: the rolled-up days from their counts, the rest from the incidents."""
    rolled = rolled_days(since=None, until=None)
    counts: dict[tuple[str, bool], int] = defaultdict(int)
    if rolled.days:
        rows = (
            RollupDeclared.objects.filter(_within("day", rolled.days, _next_day))
            .values("severity", "is_drill")
            .annotate(count=Sum("incidents"))
            .order_by()
        )
        for row in rows:
            counts[row["severity"], row["is_drill"]] += row["count"]
    for row in incident_totals(rolled_up=day_spans(rolled.days)):
        counts[row["severity_id"], row["is_drill"]] += row["count"]
    return [
        {"severity_id": severity, "is_drill": is_drill, "count": count}
        for (severity, is_drill), count in sorted(counts.items())
    ]
