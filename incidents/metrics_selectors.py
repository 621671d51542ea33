"""Reads of the incident core for the metrics app: incidents as figures.

The metrics app reads incidents only through these functions, scoped to
the caller's teams as every other read is, and their two neighbours:
`metrics_sla` (SLA, cadence and repeat counts by the database) and
`metrics_rollups` (the rollups' cells summed by the database).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Greatest, Least, Trunc

from config.rows import every_row
from incidents.models import (
    ActionItem,
    AlertEvent,
    Incident,
    PostIncidentReview,
    Service,
    StatusUpdate,
    TimelineEvent,
)
from incidents.models.reviews import DEADLINE_DUE_FIELDS, DEADLINE_OPEN_STATES
from incidents.selectors import User, incident_list, service_list, severity_list
from incidents.timeline_kinds import ACK_TARGET_MISSED, RESOLVE_TARGET_MISSED

# The review and action-item states the KPIs tell apart.
REVIEW_PUBLISHED = PostIncidentReview.State.PUBLISHED.value
REVIEW_WAIVED = PostIncidentReview.State.WAIVED.value
ACTION_ITEM_OPEN = ActionItem.Status.OPEN.value
ACTION_ITEM_DONE = ActionItem.Status.DONE.value
ACTION_ITEM_WONT_DO = ActionItem.Status.WONT_DO.value

# What one incident contributes to the figures, in one row.
ROW_FIELDS = {
    "id": "id",
    "public_id": "public_id",
    "title": "title",
    "status": "status",
    "severity": "severity_id",
    "service": "service__slug",
    "service_id": "service_id",
    "team": "service__team__slug",
    "team_id": "service__team_id",
    "time_zone": "service__team__time_zone",
    "category": "category",
    "is_drill": "is_drill",
    "started_at": "started_at",
    "detected_at": "detected_at",
    "acknowledged_at": "acknowledged_at",
    "mitigated_at": "mitigated_at",
    "resolved_at": "resolved_at",
}


class Microseconds(Func):
    """A duration in whole microseconds, as an integer (as SQLite keeps
    durations), so that sums of them are exact."""

    output_field = IntegerField()
    postgresql_template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template=self.postgresql_template, **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)


class ShortMicroseconds(Microseconds):
    """Microseconds of a duration shorter than 2**52 of them (142 years),
    such as a moment's offset within a window of history: PostgreSQL's
    floating-point seconds of it, times a million, are then within half a
    microsecond of the whole number, which rounding gives back; several
    times faster over many rows than EXTRACT, which goes through numeric."""

    postgresql_template = "round(date_part('epoch', %(expressions)s) * 1000000)::bigint"


class Seconds(Func):
    """A duration in seconds, as a floating-point number (SQLite keeps
    durations as microseconds)."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            # date_part answers a double precision itself; EXTRACT goes
            # through numeric, several times slower over many rows.
            template="date_part('epoch', %(expressions)s)",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="(%(expressions)s / 1e6)", **extra
        )


class LocalDate(Func):
    """The calendar day of a moment in the time zone another column names
    (PostgreSQL)."""

    arg_joiner = " AT TIME ZONE "
    template = "(%(expressions)s)::date"
    output_field = DateField()


def _local_detection_day() -> LocalDate:
    """An incident's detection day in its team's time zone (PostgreSQL)."""
    return LocalDate(F("detected_at"), F("service__team__time_zone"))


# The expression of each grouping but the period's, on an incident row.
GROUP_PATHS = {
    "severity": "severity_id",
    "service": "service__slug",
    "team": "service__team__slug",
    "category": "category",
}


def duration_seconds(start: str, end: str) -> Case:
    """The seconds from the `start` to the `end` timestamp field; NULL when
    the incident has not reached `end` or `end` came first (a skewed clock)."""
    return Case(When(**{f"{end}__gte": F(start)}, then=Seconds(F(end) - F(start))))


# Per group, the incidents' counts and each duration's count, mean and
# percentiles. Each incident's group, flags and durations are computed once,
# by the ORM's query of them ({rows}); OFFSET 0 keeps the planner from
# folding that query into this one, which would compute each duration again
# for every aggregate over it (more than half of the time, at thousands of
# incidents).
_SUMMARIES = """
SELECT row_group, COUNT(*), COUNT(*) FILTER (WHERE row_never_acknowledged),
    COUNT(*) FILTER (WHERE row_unresolved), {figures}
FROM ({rows} OFFSET 0) AS incident_rows
GROUP BY row_group
"""


def duration_summaries(
    incidents: QuerySet[Incident],
    *,
    group_by: str,
    period: str,
    durations: dict[str, tuple[str, str]],
    fractions: dict[str, float],
) -> list[dict[str, Any]] | None:
    """Return per group of the incidents how many there are, never
    acknowledged and unresolved, and for each of the `durations` (key: the
    start and end timestamp fields) its count, mean and `fractions`
    percentiles in seconds, as `{key}_count`, `{key}_mean`, `{key}_{name}`,
    over the incidents that have both timestamps in order; computed by the
    database, one row per group. A period's group is the first day of the
    period, in the team's time zone. None where the database has no
    percentiles (SQLite): the caller computes them."""
    if connection.vendor != "postgresql":
        return None
    if group_by == "period":
        local: Any = _local_detection_day()
        # A date, as the ORM's conversion would make of the period's start.
        group = local if period == "day" else Cast(Trunc(local, period), DateField())
    else:
        group = F(GROUP_PATHS[group_by])
    columns: dict[str, Any] = {
        "row_group": group,
        "row_never_acknowledged": Q(acknowledged_at__isnull=True),
        "row_unresolved": Q(resolved_at__isnull=True),
    }
    names = ["group", "incidents", "never_acknowledged", "unresolved"]
    figures, params = [], []
    for n, (key, ends) in enumerate(durations.items()):
        column = f"row_duration_{n}"
        columns[column] = duration_seconds(*ends)
        figures += [f"COUNT({column})", f"AVG({column})"]
        names += [f"{key}_count", f"{key}_mean"]
        for name, fraction in fractions.items():
            figures.append(f"PERCENTILE_CONT(%s) WITHIN GROUP (ORDER BY {column})")
            params.append(float(fraction))
            names.append(f"{key}_{name}")
    rows, row_params = incidents.order_by().values(**columns).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            _SUMMARIES.format(figures=", ".join(figures), rows=rows),
            [*params, *row_params],
        )
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def metric_incidents(
    *,
    user: User,
    drills: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    severities: Iterable[str] = (),
    services: Iterable[str] = (),
    teams: Iterable[str] = (),
    categories: Iterable[str] = (),
    rolled_up: Iterable[tuple[datetime, datetime]] = (),
) -> QuerySet[Incident]:
    """Return the incidents that count in `user`'s figures: their teams'
    incidents detected in [since, until), never a cancelled one, and drills
    only when `drills` (then nothing but drills); less the unrestricted ones
    detected in the `rolled_up` spans (the metrics rollups answer those)."""
    incidents = (
        incident_list(user=user)
        .exclude(status=Incident.Status.CANCELLED)
        .filter(is_drill=drills)
    )
    conditions = Q()
    if since is not None:
        conditions &= Q(detected_at__gte=since)
    if until is not None:
        conditions &= Q(detected_at__lt=until)
    spans = sorted(rolled_up)
    if spans:
        conditions &= Q(restricted=True) | _outside(spans)
    for lookup, values in (
        ("severity_id__in", severities),
        ("service__slug__in", services),
        ("service__team__slug__in", teams),
        ("category__in", categories),
    ):
        values = list(values)
        if values:
            conditions &= Q(**{lookup: values})
    return incidents.filter(conditions)


def _outside(spans: list[tuple[datetime, datetime]]) -> Q:
    """Return the condition that an incident was detected outside the
    ascending [start, end) `spans`, said as what remains between them, so
    that the index on the detection time can serve it."""
    outside = Q(detected_at__lt=spans[0][0]) | Q(detected_at__gte=spans[-1][1])
    for (_, end), (start, _) in itertools.pairwise(spans):
        outside |= Q(detected_at__gte=end, detected_at__lt=start)
    return outside


def metric_incident_rows(incidents: QuerySet[Incident]) -> Iterator[dict[str, Any]]:
    """Yield each incident as a flat row of the ROW_FIELDS, oldest first."""
    rows = (
        incidents.order_by("detected_at", "id")
        .values_list(*ROW_FIELDS.values())
        .iterator(chunk_size=5000)
    )
    names = list(ROW_FIELDS)
    for row in rows:
        yield dict(zip(names, row, strict=True))


def metric_duration_rows(
    incidents: QuerySet[Incident],
    *,
    group_by: str,
    durations: dict[str, tuple[str, str]],
) -> Iterator[dict[str, Any]]:
    """Yield each incident as its response times need it: its `group` (the
    severity, service or team slug or category; by period the detection
    day in the team's time zone), whether it was never acknowledged, whether
    it is unresolved, and each of the `durations` (key: start and end
    timestamp fields) in seconds, computed by the database (None as
    `duration_seconds`). PostgreSQL finds the local day itself; on SQLite
    the detection time is moved to the team's zone here."""
    local_here = group_by == "period" and connection.vendor != "postgresql"
    if group_by != "period":
        group: Any = F(GROUP_PATHS[group_by])
    elif local_here:
        group = F("detected_at")
    else:
        group = _local_detection_day()
    fields = {
        "group": group,
        "never_acknowledged": Q(acknowledged_at__isnull=True),
        "unresolved": Q(resolved_at__isnull=True),
        **{key: duration_seconds(*ends) for key, ends in durations.items()},
    }
    if local_here:
        fields["time_zone"] = F("service__team__time_zone")
    names = list(fields)
    rows = (
        incidents.order_by()
        .annotate(**{f"row_{name}": value for name, value in fields.items()})
        .values_list(*(f"row_{name}" for name in names))
    )
    for values in every_row(rows):
        row = dict(zip(names, values, strict=True))
        if local_here:
            zone = ZoneInfo(row.pop("time_zone"))
            row["group"] = row["group"].astimezone(zone).date()
        yield row


# Per service, the spans (begin and end as microseconds after the window's
# start, and how many incidents each one stands for) merged: ordered by
# begin, a span adds whatever of it lies past the furthest end of the spans
# before it. Only the spans' query (built by the ORM, parameterised) is
# inserted here: the ORM can neither put a window over a union nor group
# an aggregate over a window function's result.
_MERGED_SPANS = """
SELECT service_id, SUM(span_count),
    SUM(CASE WHEN reach IS NULL OR reach <= span_begin THEN span_end - span_begin
             WHEN reach < span_end THEN span_end - reach ELSE 0 END)
FROM (
    SELECT service_id, span_begin, span_end, span_count,
        MAX(span_end) OVER (
            PARTITION BY service_id ORDER BY span_begin
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ) AS reach
    FROM ({spans}) AS spans
) AS reached
GROUP BY service_id
"""


def service_downtime(
    incidents: QuerySet[Incident], *, between: tuple[datetime, datetime], now: datetime
) -> dict[int, tuple[int, float]]:
    """Return per service id, for the incidents with an impact within
    `between` [start, end) (started until resolved, or until now while
    open), how many there are and the length of the union of their impacts
    in seconds: overlapping or touching impacts count once. The database
    answers one row per service: the resolved incidents' impacts, clipped to
    the window, and per service one span for its open ones (from the first
    one's start until now or the window's end, however many there are),
    merged by a running maximum of the spans' ends (a span adds what lies
    past every earlier span's end)."""
    start, end = between
    stop = min(now, end)
    origin = Value(start, output_field=DateTimeField())

    def after(moment: Any) -> Microseconds:
        return ShortMicroseconds(
            ExpressionWrapper(moment - origin, output_field=DurationField())
        )

    resolved = (
        incidents.filter(resolved_at__gt=start, started_at__lt=end)
        .annotate(
            impact_begin=Greatest("started_at", origin),
            impact_end=Least("resolved_at", Value(end, DateTimeField())),
        )
        .filter(impact_end__gt=F("impact_begin"))
        .annotate(
            span_begin=after(F("impact_begin")),
            span_end=after(F("impact_end")),
            span_count=Value(1),
        )
        .order_by()
        .values_list("service_id", "span_begin", "span_end", "span_count")
    )
    still_open = (
        incidents.filter(resolved_at__isnull=True, started_at__lt=stop)
        .values("service_id")
        .annotate(
            span_begin=after(Greatest(Min("started_at"), origin)),
            span_end=after(Value(stop, DateTimeField())),
            span_count=Count("*"),
        )
        .order_by()
        .values_list("service_id", "span_begin", "span_end", "span_count")
    )
    # Open incidents have no impact within a window that begins after now.
    spans = resolved.union(still_open, all=True) if start < stop else resolved
    sql, params = spans.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_MERGED_SPANS.format(spans=sql), params)
        return {
            service_id: (int(count), int(down) / 1e6)
            for service_id, count, down in cursor.fetchall()
        }


def first_detected_at() -> datetime | None:
    """Return when the first incident of all was detected."""
    return Incident.objects.aggregate(first=Min("detected_at"))["first"]


def service_zones() -> list[dict[str, Any]]:
    """Return every service with its team and the team's time zone."""
    return [
        dict(row)
        for row in Service.objects.order_by("pk").values(
            "id", "slug", "team_id", "team__slug", "team__time_zone"
        )
    ]


def severity_targets() -> list[dict[str, Any]]:
    """Return the severity matrix's targets, most severe first."""
    return [
        dict(row)
        for row in severity_list().values(
            "code",
            "name",
            "ack_target",
            "resolve_target",
            "update_cadence",
            "pir_required",
        )
    ]


def metric_services(
    *, user: User, services: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Return `user`'s teams' services (those named, if any) as rows."""
    rows = service_list(user=user)
    wanted = list(services)
    if wanted:
        rows = rows.filter(slug__in=wanted)
    return [
        dict(row) for row in rows.values("id", "slug", "name", "team_id", "team__slug")
    ]


def status_update_times(incidents: QuerySet[Incident]) -> dict[int, list[datetime]]:
    """Return, for each of the incidents, the times its updates were posted."""
    times: dict[int, list[datetime]] = {}
    updates = (
        StatusUpdate.objects.filter(incident__in=incidents.values("pk"))
        .order_by("incident_id", "posted_at")
        .values_list("incident_id", "posted_at")
    )
    for incident_id, posted_at in updates:
        times.setdefault(incident_id, []).append(posted_at)
    return times


def review_rows(incidents: QuerySet[Incident]) -> list[dict[str, Any]]:
    """Return the post-incident reviews of the incidents: severity, state,
    when the incident was resolved and when the review was published."""
    return [
        dict(review)
        for review in PostIncidentReview.objects.filter(
            incident__in=incidents.values("pk")
        )
        .order_by("id")
        .values(
            "state", "resolved_at", "published_at", severity=F("incident__severity_id")
        )
    ]


def action_item_rows(incidents: QuerySet[Incident]) -> list[dict[str, Any]]:
    """Return the action items of the incidents: status and due date."""
    return [
        dict(item)
        for item in ActionItem.objects.filter(incident__in=incidents.values("pk"))
        .order_by("id")
        .values("status", "due_date")
    ]


# --- The platform's own health (Prometheus) ------------------------------------


def open_incident_counts() -> list[dict[str, Any]]:
    """Return the open (not resolved, closed or cancelled) incidents counted
    by severity, team and drill flag, across every team. The database counts
    them by severity, service and drill flag from the index of open
    incidents alone, with no join per incident; the services' counts are
    added up to their teams' here."""
    teams = dict(Service.objects.values_list("id", "team__slug"))
    counts: dict[tuple[str, str, bool], int] = defaultdict(int)
    rows = (
        Incident.objects.exclude(status__in=Incident.DONE)
        .values_list("severity_id", "service_id", "is_drill")
        .annotate(count=Count("*"))
        .order_by()
    )
    for severity, service, is_drill, count in rows:
        counts[severity, teams[service], is_drill] += count
    keys = ("severity_id", "service__team__slug", "is_drill")
    return [
        {**dict(zip(keys, key, strict=True)), "count": count}
        for key, count in sorted(counts.items())
    ]


def incident_totals(
    *, rolled_up: Iterable[tuple[datetime, datetime]] = ()
) -> list[dict[str, Any]]:
    """Return the incidents ever declared, counted by severity and drill
    flag, less those detected in the `rolled_up` spans (the metrics rollups
    count those)."""
    incidents = Incident.objects.all()
    spans = sorted(rolled_up)
    if spans:
        incidents = incidents.filter(_outside(spans))
    return list(
        incidents.values("severity_id", "is_drill")
        .annotate(count=Count("*"))
        .order_by()
    )


def oldest_unprocessed_event_at() -> datetime | None:
    """Return when the oldest alert event still waiting to be processed came in."""
    return (
        AlertEvent.objects.filter(AlertEvent.with_status(AlertEvent.Status.PENDING))
        .aggregate(oldest=Min("received_at"))
        .get("oldest")
    )


def overdue_review_counts(*, now: datetime) -> list[dict[str, Any]]:
    """Return the post-incident reviews past a deadline they have not yet
    met, counted by deadline, severity and team."""
    counts = []
    for deadline, states in DEADLINE_OPEN_STATES.items():
        overdue = PostIncidentReview.objects.filter(
            state__in=states, **{f"{DEADLINE_DUE_FIELDS[deadline]}__lt": now}
        )
        for row in (
            overdue.values("incident__severity_id", "incident__service__team__slug")
            .annotate(count=Count("id"))
            .order_by()
        ):
            counts.append({"deadline": deadline.value, **row})
    return counts


def overdue_action_item_counts(*, today: date) -> list[dict[str, Any]]:
    """Return the open action items past their due date, counted by priority
    and team."""
    return list(
        ActionItem.objects.filter(status=ActionItem.Status.OPEN, due_date__lt=today)
        .values("priority", "incident__service__team__slug")
        .annotate(count=Count("id"))
        .order_by()
    )


def category_choices() -> list[tuple[str, str]]:
    """Return the incident categories, (value, label)."""
    return list(Incident.Category.choices)


def missed_target_counts() -> list[dict[str, Any]]:
    """Return every acknowledge and resolve target ever missed (as recorded on
    the timeline by the target sweep), counted by severity, kind and drill flag."""
    return list(
        TimelineEvent.objects.filter(
            kind__in=[
                ACK_TARGET_MISSED,
                RESOLVE_TARGET_MISSED,
            ]
        )
        .values("incident__severity_id", "kind", "incident__is_drill")
        .annotate(count=Count("id"))
        .order_by()
    )
