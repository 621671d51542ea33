"""Acknowledgements that expire: an escalation policy's `ack_timeout`."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, QuerySet

from incidents.formatting import human_duration
from incidents.models import Incident
from incidents.selectors import incident_locking, incident_queryset
from incidents.services import incident_transition

S = Incident.Status
# Expired acknowledgements handled by one sweep at most; the next takes the rest.
EXPIRE_BATCH = 200


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


def escalation_expire_acknowledgements(*, now: datetime) -> int:
    """Trigger again each incident whose acknowledgement expired .

    An incident still only acknowledged (nobody moved it on to investigating
    or beyond) its escalation policy's `ack_timeout` after the
    acknowledgement goes back to triggered, and its escalation restarts
    from the first level. Each is re-read under its lock, so repeated or
    overlapping sweeps expire one acknowledgement once; acknowledging again
    starts a new wait. Return how many expired.
    """
    due = _ack_expired(incident_queryset(), now).order_by("ack_expires_at")
    locking = incident_locking()
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
