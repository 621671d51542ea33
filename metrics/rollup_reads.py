"""Reading the rollups: which days they answer, and their tallies per group."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, partial
from typing import Any

from django.db.models import (
    Aggregate,
    BinaryField,
    Count,
    DateField,
    F,
    Q,
    Sum,
)
from django.db.models.functions import Cast, Trunc

from config.rows import every_row
from incidents.metrics_selectors import incident_totals, metric_services, service_zones
from incidents.selectors import User
from metrics.models import (
    RollupDeclared,
    RollupDirty,
    RollupOpenUpdate,
    RollupShapeCell,
    RollupState,
)
from metrics.periods import day_label
from metrics.rollups import (
    Cells,
    day_runs,
    day_start,
    grain_end,
    grain_start,
    month_end,
    runs,
)
from metrics.services import CELL_COUNTS, rollup_fingerprint

# The column of a shaped cell each grouping reads.
GROUP_COLUMN = {
    "severity": "severity",
    "service": "service_id",
    "team": "team_id",
    "category": "category",
    "period": "local_start",
}
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


def _teams(
    user: User, filters: dict[str, Any], services: list[dict[str, Any]]
) -> set[int] | None:
    """Return the teams whose cells a request reads (`services`: every
    service): `user`'s, of those asked for; None where they are every team
    with services. Cells are only of those (while their layout is the
    cells'), so then no condition on the team is needed."""
    every = {row["team_id"] for row in services}
    teams = every & {row["team_id"] for row in metric_services(user=user)}
    if filters["teams"]:
        teams &= {
            row["team_id"] for row in services if row["team__slug"] in filters["teams"]
        }
    return None if teams == every else teams


def _keys(
    filters: dict[str, Any], services: list[dict[str, Any]], teams: set[int] | None
) -> Q:
    """Return the conditions on a cell's keys that the filters and the
    `teams` (None: every team) set (`services`: every service)."""
    by_slug = {row["slug"]: row for row in services}
    conditions = Q(is_drill=filters["drills"])
    if teams is not None:
        conditions &= Q(team_id__in=teams)
    if filters["severities"]:
        conditions &= Q(severity__in=filters["severities"])
    if filters["services"]:
        conditions &= Q(service_id__in=[by_slug[s]["id"] for s in filters["services"]])
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
    them; the teams whose cells it reads (None: every team), the teams
    whose cells of the shape that keeps the team are taken away from every
    team's (`others`), and every service (`service_zones`)."""

    rolled: Rolled
    shape: int
    coarse: list[tuple[str, list[date]]]
    rest: list[date]
    teams: set[int] | None
    others: set[int]
    services: list[dict[str, Any]]


def plan(
    user: User, filters: dict[str, Any], group_by: str, period: str, rolled: Rolled
) -> Plan:
    """Return the plan of `user`'s request: whole months first, then whole
    weeks of the days left; days for the rest. Where it reads most teams
    but not all and need not tell them apart, every team's cells less the
    other teams' are fewer than its teams' cells."""
    services = service_zones()
    teams = _teams(user, filters, services)
    shape = _shape(filters, group_by, every_team=teams is None)
    others: set[int] = set()
    if teams is not None:
        wider = _shape(filters, group_by, every_team=True)
        left_out = {row["team_id"] for row in services} - teams
        if wider & 4 and len(left_out) < len(teams):
            shape, teams, others = wider, None, left_out
    coarse = []
    left = rolled
    for grain in _coarse_grains(group_by, period):
        whole = whole_periods(left, grain)
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
    return Plan(rolled, shape, coarse, left.days, teams, others, services)


def cells_answer(
    filters: dict[str, Any], group_by: str, period: str, planned: Plan
) -> bool:
    """Whether the cells answer the request's rolled-up days for less than
    a summary of their incidents would cost. Its days have shaped cells of
    every shape (a few dozen a day at most, however many incidents), so
    they do, but by day: a day's group costs as much as about 30
    incidents, so only where their months' cells hold more incidents than
    that a day."""
    days = planned.rolled.days
    if not days or (group_by, period) != ("period", "day"):
        return bool(days)
    # How many a day, from the few month cells of those days' months.
    months = sorted({grain_start(day, "month") for day in planned.rest})
    scope = _keys(filters, planned.services, planned.teams) & Q(
        grain="month", shape=planned.shape
    )
    held = RollupShapeCell.objects.filter(
        scope & _within("start", months, month_end)
    ).aggregate(incidents=Sum("incidents"))["incidents"]
    spanned = sum((month_end(month) - month).days for month in months)
    return (held or 0) > DAY_GROUP_COST * spanned


def _shape(filters: dict[str, Any], group_by: str, *, every_team: bool) -> int:
    """Return the shape of the coarsest cells that answer the grouping and
    filters: 1 if they must keep the service, plus 2 if the category (the
    one asked for or grouped by), plus 4 if they may add up every team:
    where the request reads every team (`every_team`), asks for no service
    and groups by neither; plus 8 if every severity too."""

    def kept(key: str, column: str) -> bool:
        return bool(filters[key]) or GROUP_COLUMN[group_by] == column

    service = kept("services", "service_id")
    shape = service + 2 * kept("categories", "category")
    if service or group_by == "team" or not every_team:
        return shape
    return shape + 4 + 8 * (not kept("severities", "severity"))


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


@dataclass(frozen=True)
class Part:
    """Shaped cells that answer part of a request: which of them (`scope`),
    their grain (the period of their local start), and whether they are
    added (1) or taken away (-1)."""

    scope: Q
    grain: str
    sign: int = 1


def _parts(filters: dict[str, Any], planned: Plan) -> list[Part]:
    """Return the shaped cells of the plan's days, of the coarsest shape
    that answers: the month and week cells where whole UTC months and weeks
    of them can answer the grouping, the day's for the rest; less the other
    teams' cells of the same days where the plan takes them away."""
    keys = _keys(filters, planned.services, planned.teams)
    parts = []
    for grain, firsts in (*planned.coarse, ("day", planned.rest)):
        if not firsts:
            continue
        days = Q(grain=grain) & _within(
            "start", firsts, partial(grain_end, grain=grain)
        )
        parts.append(Part(keys & days & Q(shape=planned.shape), grain))
        if planned.others:
            others = Q(shape=planned.shape & 3, team_id__in=planned.others)
            parts.append(Part(keys & days & others, grain, -1))
    return parts


def rollup_cells(
    *, user: User, filters: dict[str, Any], planned: Plan, group_by: str, period: str
) -> Cells:
    """Return, per group, the figures of the cells of the plan's days: of
    the month and week cells where whole UTC months and weeks of them
    answer, of the day's shaped cells for the rest."""
    if not planned.rolled.days:
        return Cells.read([])
    services = planned.services
    names: dict[str, dict[Any, str]] = {
        "service": {s["id"]: s["slug"] for s in services},
        "team": {s["team_id"]: s["team__slug"] for s in services},
    }

    @cache  # one label per distinct group value, not per bucket row
    def label(value: Any) -> str:
        if group_by == "period":
            return day_label(value, period)
        return names[group_by][value] if group_by in names else str(value)

    return Cells.read(
        [
            row
            for part in _parts(filters, planned)
            for row in _read(label, part, _group(part, group_by, period))
        ]
    )


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
    for part in _parts(filters, planned):
        rows = (
            RollupShapeCell.objects.filter(part.scope)
            .values("severity")
            .annotate(**{name: Sum(name) for name in CELL_COUNTS})
            .order_by()
        )
        for row in rows:
            total = counts.setdefault(
                row.pop("severity"), dict.fromkeys(CELL_COUNTS, 0)
            )
            for name in CELL_COUNTS:
                total[name] += part.sign * row[name]
    # Taken away, a severity may be left with none.
    return {severity: total for severity, total in counts.items() if total["incidents"]}


def open_remainders_below(
    *, user: User, filters: dict[str, Any], rolled: Rolled, bounds: dict[str, int]
) -> dict[str, int]:
    """Return per severity how many of the rolled days' unresolved incidents
    without a status update have a cadence remainder below the severity's
    bound (`RollupOpenUpdate`)."""
    if not rolled.days or not bounds:
        return {}
    services = service_zones()
    scope = _keys(filters, services, _teams(user, filters, services)) & _within(
        "day", rolled.days, _next_day
    )
    # One count per severity, each the index's range of that severity's
    # remainders below its bound, read from the index alone; in one query.
    first, *rest = (
        RollupOpenUpdate.objects.filter(scope, severity=severity, remainder__lt=bound)
        .values("severity")
        .annotate(below=Count("*"))
        .order_by()
        for severity, bound in bounds.items()
    )
    counted = {row["severity"]: row["below"] for row in first.union(*rest, all=True)}
    return {severity: counted.get(severity, 0) for severity in bounds}


def _group(part: Part, group_by: str, period: str) -> Any:
    """Return the expression of a cell's group: the column, or for a period
    coarser than the cells' grain, the database folds their local day or
    month into the period's first day, so each period comes back once."""
    column = GROUP_COLUMN[group_by]
    if group_by == "period" and period != part.grain:
        return Cast(Trunc(column, period), DateField())
    return F(column)


def _read(label: Callable[[Any], str], part: Part, key: Any) -> list[tuple[Any, ...]]:
    """Return the cells of `part` per group (`key`), one row a group as
    `Cells.read` takes them (named by `label`, with the part's sign): the
    database sums their counts and joins their packed histograms, and their
    packed sums."""
    # The groups' cells, packed values and all, are sorted in memory: in
    # PostgreSQL's default 4 MB a year's worth of a filter by day (some
    # 18,000 cells) spilled to disk.
    query = (
        RollupShapeCell.objects.filter(part.scope)
        .values(group=key)
        .annotate(
            incidents=Sum("incidents"),
            never_acknowledged=Sum("never_acknowledged"),
            unresolved=Sum("unresolved"),
            packed=Joined("histograms"),
            totals=Joined("totals"),
        )
        .order_by()
        .values_list(
            "group",
            "incidents",
            "never_acknowledged",
            "unresolved",
            "packed",
            "totals",
        )
    )
    return [
        (label(group), *rest, part.sign)
        for group, *rest in every_row(query, settings={"work_mem": "32MB"})
    ]


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
