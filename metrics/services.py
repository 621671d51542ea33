"""The metrics app's only writes: worker heartbeats and the rollups."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Case, DateField, F, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth, TruncWeek

from incidents.metrics_rollups import (
    rollup_bucket_sums,
    rollup_cell_counts,
    rollup_declared_counts,
    rollup_open_remainders,
)
from incidents.metrics_selectors import (
    first_detected_at,
    service_zones,
    severity_targets,
)
from metrics.definitions import MEASURES
from metrics.models import (
    RollupBucket,
    RollupCell,
    RollupDeclared,
    RollupDirty,
    RollupOpenUpdate,
    RollupShapeCell,
    RollupState,
    WorkerHeartbeat,
)
from metrics.periods import zone
from metrics.rollups import (
    CELL_KEYS,
    LOG_GAMMA,
    SHAPE_BUCKETS,
    day_runs,
    day_start,
    grain_end,
    grain_start,
    pack,
    pack_totals,
)

# A cell's counts besides its keys, in rollup_cell_counts' order.
CELL_COUNTS = (
    "incidents",
    "never_acknowledged",
    "unresolved",
    "ack_breaches",
    "resolve_breaches",
    "updates_missed",
    "repeats",
    "breaches",
    "open_unposted",
    "open_periods",
)
# The severity matrix's durations the cells' counts depend on.
TARGETS = ("ack_target", "resolve_target", "update_cadence")
# A day is rolled up once it ended this long ago; a change to an incident
# detected earlier marks its day dirty (newer ones are read raw anyway).
SETTLE = timedelta(days=1)
DAYS_PER_REFRESH = 120  # days built in one run, so a first build is spread out


def worker_heartbeat_record(*, worker: str, now: datetime) -> str:
    """Record that `worker` is alive at `now` (later times only); return it."""
    heartbeat, created = WorkerHeartbeat.objects.get_or_create(
        worker=worker, defaults={"seen_at": now}
    )
    if not created:
        WorkerHeartbeat.objects.filter(worker=worker, seen_at__lt=now).update(
            seen_at=now
        )
    return heartbeat.worker


def rollup_fingerprint() -> str:
    """What the cells were built under: each service's team and time zone,
    the measures, the shapes, and each severity's targets and cadence (a
    service moved, a zone or a target changed, a shape added rebuilds every
    cell)."""
    return json.dumps(
        [
            [[s["id"], s["team_id"], s["team__time_zone"]] for s in service_zones()],
            [measure.key for measure in MEASURES],  # the packed values' order
            [kept["shape"] for kept in SHAPES],
            [
                [target["code"], *(_seconds(target[name]) for name in TARGETS)]
                for target in severity_targets()
            ],
        ]
    )


def _seconds(duration: timedelta | None) -> float | None:
    return None if duration is None else duration.total_seconds()


def rollup_day_mark(
    *, detected_at: datetime, now: datetime, reach: timedelta = timedelta(0)
) -> None:
    """An incident detected at `detected_at` changed (in the caller's
    transaction): mark dirty its day, and those up to `reach` after it that
    its change may alter, of the days the rollups may hold already."""
    moments = (detected_at + timedelta(days=n) for n in range(reach.days + 1))
    days = [
        moment.astimezone(UTC).date() for moment in moments if moment < now - SETTLE
    ]
    if days:
        RollupDirty.objects.bulk_create(
            [RollupDirty(day=day, marked_at=now) for day in days],
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=["marked_at"],
        )


def _insert(
    model: Any, columns: tuple[str, ...], rows: QuerySet[Any], *extra: Any
) -> None:
    """Insert the rows a read answers (then the `extra` values) into the
    `columns` of `model`'s table, in the database."""
    sql, params = rows.query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    values = ", ".join(["%s"] * len(extra))
    # Table and column names come from the models, values are parameters.
    select = f"SELECT cell.*, {values} FROM ({sql}) AS cell" if extra else sql  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", (*extra, *params))


def _rebuild_days(days: list[date], zones: dict[str, list[int]], now: datetime) -> None:
    """Rebuild the day cells of `days` (ascending) as they stand at `now`:
    the database sums each run of consecutive days, one time zone's services
    at a time."""
    RollupCell.objects.filter(day__in=days).delete()
    RollupBucket.objects.filter(day__in=days).delete()
    RollupDeclared.objects.filter(day__in=days).delete()
    RollupOpenUpdate.objects.filter(day__in=days).delete()
    keys = ("day", *CELL_KEYS)
    for first, last in day_runs(days):
        start, end = day_start(first), day_start(last + timedelta(days=1))
        _insert(
            RollupDeclared,
            ("day", "severity", "is_drill", "incidents"),
            rollup_declared_counts(start, end),
        )
        for name, services in zones.items():
            span = (start, end, zone(name), services)
            _insert(
                RollupCell, (*keys, *CELL_COUNTS), rollup_cell_counts(*span, now=now)
            )
            _insert(
                RollupOpenUpdate, (*keys, "remainder"), rollup_open_remainders(*span)
            )
            for measure in MEASURES:
                _insert(
                    RollupBucket,
                    (*keys, "bucket", "count", "total", "measure"),
                    rollup_bucket_sums(
                        *span, measure=(measure.start, measure.end), log_gamma=LOG_GAMMA
                    ),
                    measure.key,
                )


# A shaped cell's keys, and its shapes: the values a shaped cell holds for
# the day cell's keys it adds up (all services, all categories, all teams,
# all severities), by shape: 1 if it keeps the service plus 2 if it keeps
# the category, plus 4 if it adds up every team (and so every service):
# what a reader of every team reads unless a team or service is asked for,
# plus 8 if it adds up every severity too. Each day, ISO week and month has
# the cells of every shape.
SHAPE_KEYS = (
    "grain",
    "shape",
    "start",
    "local_start",
    "team_id",
    "service_id",
    "category",
    "severity",
    "is_drill",
)
SHAPES: tuple[dict[str, Any], ...] = (
    {"shape": 0, "service_id": 0, "category": ""},
    {"shape": 1, "category": ""},
    {"shape": 2, "service_id": 0},
    {"shape": 3},
    {"shape": 4, "team_id": 0, "service_id": 0, "category": ""},
    {"shape": 6, "team_id": 0, "service_id": 0},
    {"shape": 12, "team_id": 0, "service_id": 0, "category": "", "severity": ""},
    {"shape": 14, "team_id": 0, "service_id": 0, "severity": ""},
)
# What each grain's cells start on.
GRAINS: dict[str, dict[str, Any]] = {
    "day": {"start": F("day"), "local_start": F("local_day")},
    "week": {
        "start": TruncWeek("day", output_field=DateField()),
        "local_start": TruncWeek("local_day", output_field=DateField()),
    },
    "month": {
        "start": TruncMonth("day", output_field=DateField()),
        "local_start": TruncMonth("local_day", output_field=DateField()),
    },
}


def _rebuild_shapes(grain: str, first: date, end: date) -> None:
    """Add up the day cells of the UTC days [first, end) (whole ones of the
    grain) into their shaped cells of the grain, SHAPE_BUCKETS day buckets
    to a bucket: the database sums them once by the keys the finest shape
    keeps, the shapes add those sums up, and each cell's histograms of every
    measure are packed into one value, their sums into another."""
    days = {"day__gte": first, "day__lt": end}
    keys = {"grain": Value(grain), **GRAINS[grain]}
    # The day cells' keys a shaped cell has (shape 3 keeps every one).
    fields = [name for name in SHAPE_KEYS if name not in (*keys, "shape")]
    wider = Case(
        When(bucket=0, then=Value(0)),
        default=1 + (F("bucket") - 1) / SHAPE_BUCKETS,
    )
    counts: dict[tuple[Any, ...], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(CELL_COUNTS, 0)
    )
    for row in (
        RollupCell.objects.filter(**days)
        .values(*fields, **keys)
        .annotate(**{name: Sum(name) for name in CELL_COUNTS})
        .order_by()
    ):
        for key in _shaped(row):
            for name in CELL_COUNTS:
                counts[key][name] += row[name]
    # Per shaped cell and measure, its counts by bucket and its sums.
    histograms: dict[tuple[Any, ...], dict[str, dict[int, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    totals: dict[tuple[Any, ...], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in (
        RollupBucket.objects.filter(**days)
        .values(*fields, "measure", **keys, wide=wider)
        .annotate(count=Sum("count"), total=Sum("total"))
        .order_by()
    ):
        for key in _shaped(row):
            histograms[key][row["measure"]][row["wide"]] += row["count"]
            totals[key][row["measure"]].append(row["total"])
    scope = {"grain": grain, "start__gte": first, "start__lt": end}
    RollupShapeCell.objects.filter(**scope).delete()
    _insert_rows(
        RollupShapeCell,
        (*SHAPE_KEYS, *CELL_COUNTS, "histograms", "totals"),
        (
            (
                *key,
                *(summed[name] for name in CELL_COUNTS),
                pack(histograms[key]),
                pack_totals(
                    {measure: math.fsum(sums) for measure, sums in totals[key].items()}
                ),
            )
            # In the order of what a read asks for, so that its rows lie
            # together in the table (of the days built together).
            for key, summed in sorted(counts.items(), key=_stored_order)
        ),
    )


# The shaped keys by which a read selects cells, in the order the table
# holds them: by shape, then drill flag, team, service, severity and
# category (a filter on any of them reads few runs of rows), then the days.
STORED_ORDER = (
    "grain",
    "shape",
    "is_drill",
    "team_id",
    "service_id",
    "severity",
    "category",
    "start",
    "local_start",
)
_STORED_KEYS = itemgetter(*(SHAPE_KEYS.index(name) for name in STORED_ORDER))


def _stored_order(item: tuple[tuple[Any, ...], Any]) -> tuple[Any, ...]:
    """Return the order in the table of a shaped cell (its keys in
    SHAPE_KEYS' order, and its counts): by STORED_ORDER."""
    return _STORED_KEYS(item[0])


def _insert_rows(
    model: Any, columns: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """Insert `rows` (their values in the order of `columns`) into `model`'s
    table: one statement run for every row, without a model instance per
    row (a month's shaped cells are tens of thousands of rows)."""
    fields = [model._meta.get_field(column) for column in columns]
    database = connections[DEFAULT_DB_ALIAS]  # the connection, not its proxy
    table = database.ops.quote_name(model._meta.db_table)
    names = ", ".join(database.ops.quote_name(field.column) for field in fields)
    values = ", ".join(["%s"] * len(fields))
    prepared = [
        [
            field.get_db_prep_save(value, database)
            for field, value in zip(fields, row, strict=True)
        ]
        for row in rows
    ]
    # Table and column names come from the model, values are parameters.
    insert = f"INSERT INTO {table} ({names}) VALUES ({values})"  # noqa: S608
    with database.cursor() as cursor:
        cursor.executemany(insert, prepared)


def _shaped(row: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """Return the keys of the shaped cell of each shape that a row of the day
    cells' sums adds up into."""
    for constants in SHAPES:
        shaped = row | constants
        yield tuple(shaped[name] for name in SHAPE_KEYS)


@transaction.atomic
def rollups_refresh(*, now: datetime) -> int:
    """Rebuild the dirty days and roll up the days settled since the last
    run (at most DAYS_PER_REFRESH); return how many days were built. Runs
    one at a time (the state row is locked), and twice is harmless."""
    RollupState.objects.get_or_create(pk=1)
    state = RollupState.objects.select_for_update().get(pk=1)
    fingerprint = rollup_fingerprint()
    zones: dict[str, list[int]] = {}
    for service in service_zones():
        zones.setdefault(service["team__time_zone"], []).append(service["id"])
    settled = (now - SETTLE).date()  # days before it ended a day ago
    covered_until = state.covered_until
    if state.fingerprint != fingerprint or covered_until is None:
        RollupCell.objects.all().delete()
        RollupBucket.objects.all().delete()
        RollupShapeCell.objects.all().delete()
        RollupDeclared.objects.all().delete()
        RollupOpenUpdate.objects.all().delete()
        RollupDirty.objects.all().delete()
        first = first_detected_at()
        covered_until = min(first.date(), settled) if first is not None else settled
        state.covered_from = covered_until
        state.fingerprint = fingerprint
    end = max(
        covered_until,
        min(settled, covered_until + timedelta(days=DAYS_PER_REFRESH)),
    )
    # Claim the dirty days before reading their incidents: a change marks
    # its day with an upsert, so one still uncommitted holds the row and the
    # delete waits for it.
    dirty = set(RollupDirty.objects.filter(day__lt=end).values_list("day", flat=True))
    RollupDirty.objects.filter(day__in=dirty).delete()
    fresh = {
        covered_until + timedelta(days=n) for n in range((end - covered_until).days)
    }
    rebuilt = sorted(dirty | fresh)
    _rebuild_days(rebuilt, zones, now)
    for low, high in day_runs(rebuilt):
        _rebuild_shapes("day", low, high + timedelta(days=1))
    for grain in ("week", "month"):
        for start in sorted({grain_start(day, grain) for day in rebuilt}):
            _rebuild_shapes(grain, start, grain_end(start, grain))
    state.covered_until = end
    state.refreshed_at = now
    state.save()
    return len(rebuilt)
