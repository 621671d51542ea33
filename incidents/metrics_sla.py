"""SLA, status-update cadence and repeat counts over the metrics'
incidents, answered by the database: summing them in Python meant reading
every incident of the caller's history for each request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Ceil, Coalesce, Greatest, Mod
from django.db.models.lookups import GreaterThan, GreaterThanOrEqual

from incidents.metrics_selectors import ROW_FIELDS, Microseconds, Seconds
from incidents.models import Incident, StatusUpdate

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# An incident of the same service and category (and drill flag) within this
# long after another is a repeat.
REPEAT_WINDOW = timedelta(days=30)


def late(reached: str, target: str, now: datetime) -> GreaterThan:
    """Whether an incident missed `target`: reached it late, or has not
    reached it and is already past it (null where the target is null)."""
    waited = ExpressionWrapper(
        Coalesce(F(reached), Value(now)) - F("detected_at"),
        output_field=DurationField(),
    )
    return GreaterThan(waited, F(f"severity__{target}"))


def missed_a_target(now: datetime) -> Q:
    """Whether an incident missed its acknowledge or its resolve target."""
    return Q(late("acknowledged_at", "ack_target", now)) | Q(
        late("resolved_at", "resolve_target", now)
    )


def sla_counts(
    incidents: QuerySet[Incident], *, now: datetime
) -> dict[str, dict[str, int]]:
    """Return per severity of the incidents how many there are and how many
    breached the acknowledge and the resolve target, counted by the database."""
    counts = (
        incidents.values("severity_id")
        .annotate(
            incidents=Count("pk"),
            ack_breaches=Count("pk", filter=late("acknowledged_at", "ack_target", now)),
            resolve_breaches=Count(
                "pk", filter=late("resolved_at", "resolve_target", now)
            ),
        )
        .order_by()
    )
    return {row.pop("severity_id"): row for row in counts}


def _breached(incidents: QuerySet[Incident], now: datetime) -> QuerySet[Incident]:
    """Return the incidents that breached a target, `ack_missed` and
    `resolve_missed` aliased."""
    return incidents.alias(
        ack_missed=late("acknowledged_at", "ack_target", now),
        resolve_missed=Coalesce(
            late("resolved_at", "resolve_target", now), Value(False)
        ),
    ).filter(missed_a_target(now))


class BreachRows:
    """The incidents that breached a target as metrics rows with
    `ack_missed` and `resolve_missed`, newest first (the detection time,
    then the id: an order the index on the detection time serves), each
    made by `shape`. Nothing is read until they are counted (`count()`),
    sliced (`rows[start:stop]`, one LIMIT/OFFSET query) or iterated (all of
    them, in chunks): a paginator takes them as it takes a queryset.

    `count()` counts those of `uncounted` (all of the incidents when None)
    and adds `counted`, the breaches of the others counted beforehand (the
    metrics' rollups)."""

    NAMES = (*ROW_FIELDS, "ack_missed", "resolve_missed")

    def __init__(
        self,
        incidents: QuerySet[Incident],
        *,
        now: datetime,
        shape: Callable[[dict[str, Any]], dict[str, Any]],
        uncounted: QuerySet[Incident] | None = None,
        counted: int = 0,
    ) -> None:
        breached = _breached(incidents, now)
        self._uncounted = breached if uncounted is None else _breached(uncounted, now)
        self._counted = counted
        self._rows = (
            breached.annotate(ack=F("ack_missed"), resolve=F("resolve_missed"))
            .order_by("-detected_at", "-id")
            .values_list(*ROW_FIELDS.values(), "ack", "resolve")
        )
        self._shape = shape

    def count(self) -> int:
        return self._uncounted.count() + self._counted

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        return [self._row(values) for values in self._rows[index]]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for values in self._rows.iterator(chunk_size=5000):
            yield self._row(values)

    def _row(self, values: tuple[Any, ...]) -> dict[str, Any]:
        return self._shape(dict(zip(self.NAMES, values, strict=True)))


def with_status_updates(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Return those of the incidents that have posted a status update."""
    return incidents.filter(
        Exists(StatusUpdate.objects.filter(incident=OuterRef("pk")))
    )


def unposted_due(now: datetime) -> Greatest:
    """Return how many updates an incident that posted none was due (each
    one missed): every cadence after detection until resolved (or now), the
    closed form of `incidents.cadence`'s count after the last update; null
    for a severity without a cadence."""
    span = ExpressionWrapper(
        Coalesce(F("resolved_at"), Value(now)) - F("detected_at"),
        output_field=DurationField(),
    )
    return Greatest(
        Ceil(Seconds(span) / Seconds(F("severity__update_cadence"))) - 1,
        0,
        output_field=FloatField(),
    )


def no_status_update() -> Any:
    """Return the condition that an incident has posted no status update."""
    return ~Exists(StatusUpdate.objects.filter(incident=OuterRef("pk")))


def open_without_update() -> Q:
    """Return the condition that an incident is unresolved, has posted no
    status update and its severity has a cadence: its missed updates grow
    with the clock."""
    return (
        Q(resolved_at__isnull=True, severity__update_cadence__isnull=False)
        & no_status_update()
    )


def cadence_periods() -> tuple[ExpressionWrapper, Mod]:
    """Return the quotient and the remainder of an incident's detection
    time (microseconds since the epoch) by its severity's update cadence (in
    microseconds): an unresolved incident without updates has missed, by a
    moment whose quotient and remainder are Q and R, Q - quotient - 1
    updates, one more if its remainder is below R (`unposted_due`'s count,
    in whole numbers)."""
    detected = Microseconds(
        ExpressionWrapper(
            F("detected_at") - Value(EPOCH, output_field=DateTimeField()),
            output_field=DurationField(),
        )
    )
    cadence = Microseconds(F("severity__update_cadence"))
    return (
        ExpressionWrapper(detected / cadence, output_field=BigIntegerField()),
        Mod(detected, cadence, output_field=BigIntegerField()),
    )


def unposted_missed_updates(
    incidents: QuerySet[Incident], *, now: datetime
) -> dict[str, int]:
    """Return per severity with a cadence how many updates were due, and
    missed, over those of the incidents that posted none."""
    counts = (
        incidents.filter(no_status_update(), severity__update_cadence__isnull=False)
        .values("severity_id")
        .annotate(missed=Sum(unposted_due(now)))
        .order_by()
    )
    return {row["severity_id"]: int(row["missed"]) for row in counts}


def repeats_one() -> GreaterThanOrEqual:
    """Return the condition that an incident repeats an earlier one: one of
    its service, category and drill flag, neither cancelled nor restricted,
    detected at most REPEAT_WINDOW before it (at the same moment, created
    before it). Whatever its severity, and whether or not the caller's
    filters select it, so that a day's count is the same in every request
    and the rollups can hold it; never a restricted one, so that the count
    says nothing of incidents a reader may not see.

    The latest earlier incident is one backward step of an index per
    incident (a scalar subquery, which PostgreSQL never turns into a join:
    as EXISTS it would hash every incident to answer a few hundred)."""
    detected = OuterRef("detected_at")
    latest_earlier = (
        Incident.objects.filter(
            service_id=OuterRef("service_id"),
            category=OuterRef("category"),
            is_drill=OuterRef("is_drill"),
            restricted=False,
            detected_at__lte=detected,
        )
        .filter(Q(detected_at__lt=detected) | Q(pk__lt=OuterRef("pk")))
        .exclude(status=Incident.Status.CANCELLED)
        .order_by("-detected_at")
        .values("detected_at")[:1]
    )
    return GreaterThanOrEqual(
        Subquery(latest_earlier),
        ExpressionWrapper(
            F("detected_at") - Value(REPEAT_WINDOW), output_field=DateTimeField()
        ),
    )


def repeat_count(incidents: QuerySet[Incident]) -> int:
    """Return how many of the incidents repeat an earlier one."""
    return incidents.filter(repeats_one()).count()
