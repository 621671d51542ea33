"""The clocks of open incidents: the moment one misses its severity's
targets, and acknowledgements that expire."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, QuerySet

from config.db import own_rows
from incidents.formatting import human_duration
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident, TimelineEvent
from incidents.services.incident import incident_transition
from incidents.timeline import timeline_kind_label
from incidents.timeline_kinds import ACK_TARGET_MISSED, RESOLVE_TARGET_MISSED

S = Incident.Status
# Expired acknowledgements handled by one sweep at most; the next takes the rest.
EXPIRE_BATCH = 200


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


def _ack_expired(incidents: QuerySet[Incident], now: datetime) -> QuerySet[Incident]:
    expires_at = ExpressionWrapper(
        F("acknowledged_at") + F("escalation__policy__ack_timeout"),
        output_field=DateTimeField(),
    )
    return (
        incidents.filter(
            status=S.ACKNOWLEDGED, escalation__policy__ack_timeout__isnull=False
        )
        .annotate(ack_expires_at=expires_at)
        .filter(ack_expires_at__lte=now)
    )


def incident_expire_acknowledgements(*, now: datetime) -> int:
    """Trigger again each incident whose acknowledgement expired (ESC-3).

    An incident still only acknowledged (nobody moved it on to investigating
    or beyond) its escalation policy's `ack_timeout` after the
    acknowledgement goes back to triggered, and its escalation restarts
    from the first level. Each is re-read under its lock, so repeated or
    overlapping sweeps expire one acknowledgement once; acknowledging again
    starts a new wait. Return how many expired.
    """
    due = _ack_expired(Incident.objects.all(), now).order_by("ack_expires_at")
    # Locked as every writer of an incident locks it (its row only, no key).
    locking = Incident.objects.select_for_update(of=own_rows(), no_key=True)
    expired = 0
    for incident in due.only("pk")[:EXPIRE_BATCH]:
        with transaction.atomic():
            timeout = (
                _ack_expired(locking.filter(pk=incident.pk), now)
                .values_list("escalation__policy__ack_timeout", flat=True)
                .first()
            )
            if timeout is None:  # acknowledged again or moved on meanwhile
                continue
            incident_transition(
                incident=incident,
                to=S.TRIGGERED,
                by=None,
                via="system",
                reason=f"the acknowledgement expired after {human_duration(timeout)}"
                " with the incident still only acknowledged",
                at=now,
            )
        expired += 1
    return expired
