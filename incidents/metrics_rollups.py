"""Reads of the incident core for the metrics rollups: the incidents of a
span of days summed into cells by the database.

Each read covers the services of teams in one time zone (the cell's local
day is the detection day there) and answers one row per cell, its columns
in the order the metrics app's cell tables take them, so it can insert the
rows with one INSERT … SELECT instead of bringing every incident to Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Floor, Ln, TruncDate

from incidents.metrics_selectors import duration_seconds
from incidents.metrics_sla import (
    cadence_periods,
    late,
    missed_a_target,
    no_status_update,
    open_without_update,
    repeats_one,
    unposted_due,
)
from incidents.models import Incident


def _rolled(
    start: datetime, end: datetime, zone: tzinfo, services: Iterable[int]
) -> QuerySet[Incident, Any]:
    """Return the incidents the rollups hold (drills too, never a cancelled
    or restricted one) of `services` detected in [start, end), grouped by
    their cell's keys."""
    return (
        Incident.objects.filter(
            detected_at__gte=start,
            detected_at__lt=end,
            service_id__in=list(services),
            restricted=False,
        )
        .exclude(status=Incident.Status.CANCELLED)
        .values(
            cell_day=TruncDate("detected_at", tzinfo=UTC),
            cell_local_day=TruncDate("detected_at", tzinfo=zone),
            cell_service=F("service_id"),
            cell_team=F("service__team_id"),
            cell_severity=F("severity_id"),
            cell_category=F("category"),
            cell_drill=F("is_drill"),
        )
        .order_by()
    )


# A cell's keys, the first columns of every read: its UTC day, local day,
# service, team, severity, category and drill flag.
KEYS = (
    "cell_day",
    "cell_local_day",
    "cell_service",
    "cell_team",
    "cell_severity",
    "cell_category",
    "cell_drill",
)


# What rollup_cell_counts answers after the KEYS.
COUNTS = (
    "cell_incidents",
    "cell_never",
    "cell_unresolved",
    "cell_ack_breaches",
    "cell_resolve_breaches",
    "cell_updates_missed",
    "cell_repeats",
    "cell_breaches",
    "cell_open_unposted",
    "cell_open_periods",
)


def rollup_cell_counts(
    start: datetime,
    end: datetime,
    zone: tzinfo,
    services: Iterable[int],
    *,
    now: datetime,
) -> QuerySet[Incident, Any]:
    """Return per cell its KEYS, then the COUNTS: how many incidents, how
    many never acknowledged, how many unresolved, how many had missed the
    acknowledge and the resolve target at `now`, and how many status
    updates the resolved ones that posted none were due (each one missed),
    how many repeat an earlier incident, how many missed either target
    (the breach list's count), and how many are unresolved without a status
    update and the sum of their `cadence_periods` quotients."""
    return (
        _rolled(start, end, zone, services)
        .annotate(
            cell_incidents=Count("pk"),
            cell_never=Count("pk", filter=Q(acknowledged_at__isnull=True)),
            cell_unresolved=Count("pk", filter=Q(resolved_at__isnull=True)),
            cell_ack_breaches=Count(
                "pk", filter=late("acknowledged_at", "ack_target", now)
            ),
            cell_resolve_breaches=Count(
                "pk", filter=late("resolved_at", "resolve_target", now)
            ),
            cell_updates_missed=Cast(
                Coalesce(
                    Sum(
                        unposted_due(now),
                        filter=Q(resolved_at__isnull=False) & no_status_update(),
                    ),
                    0.0,
                ),
                IntegerField(),
            ),
            cell_repeats=Count("pk", filter=repeats_one()),
            cell_breaches=Count("pk", filter=missed_a_target(now)),
            cell_open_unposted=Count("pk", filter=open_without_update()),
            cell_open_periods=Coalesce(
                Sum(cadence_periods()[0], filter=open_without_update()), 0
            ),
        )
        .values_list(*KEYS, *COUNTS)
    )


def rollup_open_remainders(
    start: datetime, end: datetime, zone: tzinfo, services: Iterable[int]
) -> QuerySet[Incident, Any]:
    """Return per unresolved incident without a status update (of a
    severity with a cadence) its cell's KEYS, then the remainder of its
    `cadence_periods`."""
    return (
        _rolled(start, end, zone, services)
        .filter(open_without_update())
        .annotate(cell_remainder=cadence_periods()[1])
        .values_list(*KEYS, "cell_remainder")
    )


def rollup_bucket_sums(
    start: datetime,
    end: datetime,
    zone: tzinfo,
    services: Iterable[int],
    *,
    measure: tuple[str, str],
    log_gamma: float,
) -> QuerySet[Incident, Any]:
    """Return per cell its KEYS, then per bucket of the measure
    from `measure[0]` to `measure[1]` (0 under a second, else
    1 + floor(ln(seconds) / log_gamma)) the bucket, how many incidents took
    it and the sum of their seconds; over the incidents that reached both
    timestamps in that order."""
    index = Case(
        When(Q(cell_seconds__lt=1), then=Value(0)),
        default=1 + Floor(Ln(F("cell_seconds")) / log_gamma),
        output_field=IntegerField(),
    )
    return (
        _rolled(start, end, zone, services)
        .alias(cell_seconds=duration_seconds(*measure))
        .filter(cell_seconds__isnull=False)
        .values(*KEYS, cell_bucket=index)
        .annotate(cell_count=Count("pk"), cell_total=Sum("cell_seconds"))
        .values_list(*KEYS, "cell_bucket", "cell_count", "cell_total")
    )


def rollup_declared_counts(start: datetime, end: datetime) -> QuerySet[Incident, Any]:
    """Return per UTC detection day in [start, end), severity and drill flag
    how many incidents were declared: every one, cancelled and restricted
    ones too."""
    return (
        Incident.objects.filter(detected_at__gte=start, detected_at__lt=end)
        .values("severity_id", "is_drill", day=TruncDate("detected_at", tzinfo=UTC))
        .annotate(incidents=Count("*"))
        .values_list("day", "severity_id", "is_drill", "incidents")
        .order_by()
    )
