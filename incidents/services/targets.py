"""The clocks of open incidents: the moment one misses its severity's
targets."""

from __future__ import annotations

from datetime import datetime

from django.db.models import DateTimeField, ExpressionWrapper, F, QuerySet

from incidents.formatting import human_duration
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident, TimelineEvent
from incidents.timeline import timeline_kind_label
from incidents.timeline_kinds import ACK_TARGET_MISSED, RESOLVE_TARGET_MISSED

S = Incident.Status


def _due(target: str) -> ExpressionWrapper:
    return ExpressionWrapper(
        F("detected_at") + F(f"severity__{target}"), output_field=DateTimeField()
    )


def _missed(
    incidents: QuerySet[Incident], kind: str, target: str, now: datetime
) -> list[TimelineEvent]:
    rows = (
        incidents.filter(**{f"severity__{target}__isnull": False})
        .annotate(due=_due(target))
        .filter(due__lte=now)
        .exclude(timeline__kind=kind)
        .values_list("pk", "due", "severity__code", f"severity__{target}")
    )
    return [
        TimelineEvent(
            incident_id=pk,
            kind=kind,
            at=due,
            via="system",
            message=(
                f"{timeline_kind_label(kind)}: the {code} target is "
                f"{human_duration(limit)}"
            ),
            data={"target_seconds": limit.total_seconds()},
        )
        for pk, due, code, limit in rows
    ]


def incident_record_missed_targets(*, now: datetime) -> int:
    """Put a "target missed" event on each incident that just missed one.

    An incident still triggered past detected_at + ack target missed its
    acknowledge target; one still open past its resolve target missed that.
    The event is dated when the target ran out, not when this ran. A unique
    constraint keeps one event per incident and target, so overlapping or
    repeated sweeps change nothing. Return how many misses were found.
    """
    events = _missed(
        Incident.objects.filter(status=Incident.Status.TRIGGERED),
        ACK_TARGET_MISSED,
        "ack_target",
        now,
    ) + _missed(
        Incident.objects.filter(status__in=OPEN_STATUSES),
        RESOLVE_TARGET_MISSED,
        "resolve_target",
        now,
    )
    TimelineEvent.objects.bulk_create(events, ignore_conflicts=True)
    return len(events)
