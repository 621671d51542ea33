"""The delivery log: every message is a row before it is sent (NOT-4).

A delivery goes pending → sending → sent | failed (or cancelled, or bundled
into another). Writing it is the caller's business transaction; sending is
a `notifications` task that claims the row with a conditional update, so
a duplicate task or a racing worker finds nothing to do.

A worker killed between claim and answer leaves a row in `sending` whose
fate is unknown: the provider may or may not have the message. After the
lease (VIGIL_DELIVERY_LEASE_SECONDS) the recovery sweep sends it again: a
page delivered twice is better than a page lost, as PagerDuty also holds.
Webhooks carry `X-Vigil-Delivery` so a receiver can drop that duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents.models import Incident
from notifications.exceptions import DeliveryStateError
from notifications.models import Channel, ContactMethod, Delivery
from notifications.services.messages import message_bundle, message_render
from notifications.signals import delivery_finished
from notifications.transports import get_transport
from notifications.transports.base import Destination, Message, TransportError

logger = logging.getLogger(__name__)

S = Delivery.Status
# Waits up to this long go to the broker as a countdown; longer ones are left
# to the due sweep, so that nothing sits in a worker past RabbitMQ's
# consumer_timeout.
COUNTDOWN_LIMIT = timedelta(minutes=10)
# The due sweep re-drives rows this late, the ones whose message was lost.
SWEEP_GRACE = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=5)
NOT_BUNDLED = (Delivery.Purpose.VERIFICATION, Delivery.Purpose.TEST)
# Deliveries due together travel together: one task message sends up to this
# many in turn (each claimed on its own), saving a broker round trip each.
SEND_BATCH = 10


@dataclass(frozen=True)
class Target:
    """One destination of a new delivery."""

    kind: str
    address: str
    contact_method: ContactMethod | None = None
    channel: Channel | None = None
    due_at: datetime | None = None
    key_suffix: str = ""


def deliveries_write(
    *,
    purpose: str,
    message_kind: str,
    event_key: str,
    targets: Iterable[Target],
    incident: Incident | None = None,
    user: Any = None,
    extra: dict[str, Any] | None = None,
    stops_on_ack: bool = False,
    now: datetime | None = None,
) -> list[Delivery]:
    """Write one pending delivery per target and send them after commit.

    A delivery that exists already for (event, destination) is not written
    again: calling twice for the same event pages once. Return the rows of
    this event, new or not.
    """
    now = now or timezone.now()
    rows = [
        Delivery(
            purpose=purpose,
            message_kind=message_kind,
            event_key=event_key + t.key_suffix,
            incident=incident,
            user=user,
            contact_method=t.contact_method,
            channel=t.channel,
            kind=t.kind,
            destination=t.address,
            extra=extra or {},
            stops_on_ack=stops_on_ack,
            due_at=t.due_at or now,
            created_at=now,
        )
        for t in targets
    ]
    if not rows:
        return []
    wanted = {(row.event_key, row.contact_method_id, row.channel_id) for row in rows}
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    same_event = Delivery.objects.filter(event_key__in={key for key, _, _ in wanted})
    written = [
        row
        for row in same_event.order_by("due_at", "id")
        if (row.event_key, row.contact_method_id, row.channel_id) in wanted
    ]
    schedule_after_commit(written, now=now)
    return written


def schedule_after_commit(deliveries: Iterable[Delivery], *, now: datetime) -> None:
    """After commit, ask a worker to send each pending delivery when due."""
    plan = [
        (d.pk, max((d.due_at - now).total_seconds(), 0.0))
        for d in deliveries
        if d.status == S.PENDING and d.due_at - now <= COUNTDOWN_LIMIT
    ]
    if plan:
        transaction.on_commit(lambda: _enqueue(plan), robust=True)


def _enqueue(plan: list[tuple[int, float]]) -> None:
    """Send what is due now in batches, each later one at its time."""
    from notifications.tasks import deliveries_send_task

    now = [pk for pk, countdown in plan if countdown <= 0]
    for start in range(0, len(now), SEND_BATCH):
        deliveries_send_task.delay(delivery_ids=now[start : start + SEND_BATCH])
    for pk, countdown in plan:
        if countdown > 0:
            deliveries_send_task.apply_async(
                kwargs={"delivery_ids": [pk]}, countdown=countdown
            )


def deliveries_cancel(*, incident: Incident, reason: str) -> int:
    """Stop the incident's pages still waiting (an acknowledgement came)."""
    return Delivery.objects.filter(
        incident=incident, status=S.PENDING, stops_on_ack=True
    ).update(status=S.CANCELLED, finished_at=timezone.now(), error=reason)


# --- Sending ---------------------------------------------------------------


@dataclass
class Claim:
    delivery: Delivery
    bundled: list[Delivery]


def deliveries_send(*, delivery_ids: list[int]) -> list[str]:
    """Send each delivery in turn (see `delivery_send`); return the outcomes."""
    return [delivery_send(delivery_id=pk) for pk in delivery_ids]


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Claim the delivery, send it once, and record the outcome.

    Return what happened: sent, failed, retrying, postponed, cancelled or
    skipped (not pending or not due: someone else has it).
    """
    now = now or timezone.now()
    outcome, claim = _claim(delivery_id, now)
    if claim is None:
        return outcome
    delivery = claim.delivery
    try:
        message = _message(claim, now)
        result = get_transport(delivery.kind).send(
            message,
            Destination(delivery.kind, delivery.destination, _secret(delivery)),
        )
    except TransportError as error:
        return _record_error(claim, error)
    except Exception as error:  # a bug must not leave the page in limbo
        logger.exception("delivery %s crashed", delivery.pk)
        return _record_error(
            claim, TransportError(f"{type(error).__name__}: {error}", permanent=True)
        )
    _finish(
        claim,
        S.SENT,
        provider_status=result.status,
        provider_id=result.provider_id[:200],
        provider_response=result.body[:2000],
    )
    return "sent"


def _secret(delivery: Delivery) -> str:
    owner = delivery.contact_method or delivery.channel
    return owner.secret if owner is not None else ""


# What sending reads, in the one query that loads a claimed delivery.
CLAIMED_WITH = (
    "incident__severity",
    "incident__service__team",
    "user",
    "contact_method",
    "channel",
)


def _claim(delivery_id: int, now: datetime) -> tuple[str, Claim | None]:
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=S.PENDING, due_at__lte=now
    ).update(status=S.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:  # someone else has it, or it is not due
        return "skipped", None
    delivery = Delivery.objects.select_related(*CLAIMED_WITH).get(pk=delivery_id)
    if _acknowledged(delivery):
        _close(delivery, S.CANCELLED, error="acknowledged before it was sent")
        return "cancelled", None
    method = delivery.contact_method
    if method is None or method.rate_limit is None:
        return "claimed", Claim(delivery, [])
    with transaction.atomic():
        # One rate-limit check at a time per contact method: the row lock
        # makes a second claim wait and then see this one in its count.
        ContactMethod.objects.select_for_update().filter(pk=method.pk).first()
        free_at = _rate_limited_until(delivery, method, now)
        if free_at is None:
            return "claimed", Claim(delivery, _bundle(delivery, now))
        Delivery.objects.filter(pk=delivery.pk).update(
            status=S.PENDING, due_at=free_at, attempts=F("attempts") - 1
        )
        delivery.due_at, delivery.status = free_at, S.PENDING
        schedule_after_commit([delivery], now=now)
        return "postponed", None


def _acknowledged(delivery: Delivery) -> bool:
    incident = delivery.incident
    return (
        delivery.stops_on_ack
        and incident is not None
        and incident.status != Incident.Status.TRIGGERED
    )


def _rate_limited_until(
    delivery: Delivery, method: ContactMethod, now: datetime
) -> datetime | None:
    """Return when the method may send again, or None if it may now."""
    limit = method.rate_limit
    if limit is None:
        return None
    count, window = limit
    recent = list(
        Delivery.objects.filter(
            contact_method=method,
            status__in=[S.SENDING, S.SENT],
            claimed_at__gt=now - window,
        )
        .exclude(pk=delivery.pk)
        .order_by("claimed_at")
        .values_list("claimed_at", flat=True)
    )
    if len(recent) < count:
        return None
    oldest = recent[len(recent) - count]
    return None if oldest is None else oldest + window


def _bundle(delivery: Delivery, now: datetime) -> list[Delivery]:
    """Fold the method's other due messages into this one.

    Only rate-limited methods bundle: there, a message sent now is the last
    one for a while, so it carries everything waiting. Elsewhere (email,
    chat) each incident keeps its own message and links.
    """
    if delivery.purpose in NOT_BUNDLED:
        return []
    waiting = Delivery.objects.filter(
        contact_method_id=delivery.contact_method_id,
        status=S.PENDING,
        due_at__lte=now,
    ).exclude(Q(pk=delivery.pk) | Q(purpose__in=NOT_BUNDLED))
    others = list(waiting.select_related(*CLAIMED_WITH).order_by("due_at", "id"))
    others = [d for d in others if not _acknowledged(d)]
    Delivery.objects.filter(pk__in=[d.pk for d in others], status=S.PENDING).update(
        status=S.BUNDLED, bundled_into=delivery, claimed_at=now
    )
    return others


def _message(claim: Claim, now: datetime) -> Message:
    primary = message_render(claim.delivery, now=now)
    return message_bundle(primary, [message_render(d, now=now) for d in claim.bundled])


def _record_error(claim: Claim, error: TransportError) -> str:
    delivery = claim.delivery
    details = {
        "provider_status": error.status,
        "provider_response": error.body[:2000],
        "error": str(error)[:2000],
    }
    if error.permanent or delivery.attempts >= settings.VIGIL_DELIVERY_MAX_ATTEMPTS:
        _finish(claim, S.FAILED, **details)
        return "failed"
    now = timezone.now()
    backoff = timedelta(seconds=min(5 * 2 ** (delivery.attempts - 1), 300))
    if error.retry_after is not None:
        backoff = timedelta(seconds=max(error.retry_after, 0))
    due = now + min(backoff, MAX_BACKOFF)
    retried = Delivery.objects.filter(
        pk=delivery.pk, status=S.SENDING, claimed_at=delivery.claimed_at
    ).update(status=S.PENDING, due_at=due, **details)
    if retried:
        delivery.status, delivery.due_at = S.PENDING, due
        _after_commit_now(
            lambda: _enqueue([(delivery.pk, (due - now).total_seconds())])
        )
    return "retrying"


def _finish(claim: Claim, status: str, **fields: Any) -> None:
    """Close a claimed delivery, unless the recovery sweep took it back."""
    delivery = claim.delivery
    now = timezone.now()
    if status == S.SENT:
        fields["sent_at"] = now
    closed = Delivery.objects.filter(
        pk=delivery.pk, status=S.SENDING, claimed_at=delivery.claimed_at
    ).update(status=status, finished_at=now, **fields)
    if not closed:
        return
    ids = [d.pk for d in claim.bundled]
    if status == S.FAILED and ids:
        Delivery.objects.filter(pk__in=ids, status=S.BUNDLED).update(
            status=S.FAILED, finished_at=now, error="bundled into a failed delivery"
        )
    elif ids:
        Delivery.objects.filter(pk__in=ids).update(finished_at=now, sent_at=now)
    for name, value in fields.items():
        setattr(delivery, name, value)
    delivery.status = status
    _after_commit_now(
        lambda: delivery_finished.send(Delivery, delivery=delivery, bundled=len(ids))
    )


def _close(delivery: Delivery, status: str, *, error: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, finished_at=timezone.now(), error=error
    )


def _after_commit_now(callback: Callable[[], Any]) -> None:
    transaction.on_commit(callback, robust=True)


# --- Sweeps and manual retry -------------------------------------------------


def deliveries_dispatch_due(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue the pending deliveries no message is on its way for (beat).

    Those are rows due a while ago (their message was lost, or the broker
    was down) and rows whose wait was too long for a countdown, as they
    come due. A row enqueued twice is harmless: the send claims it.
    """
    now = now or timezone.now()
    pending = Delivery.objects.filter(status=S.PENDING)
    late = pending.filter(due_at__lte=now - SWEEP_GRACE)
    coming = pending.filter(
        Q(due_at__gt=now - SWEEP_GRACE)
        & Q(due_at__lte=now + SWEEP_GRACE)
        & Q(due_at__gt=F("created_at") + COUNTDOWN_LIMIT)
    )
    plan = [
        (pk, 0.0) for pk in late.order_by("due_at").values_list("pk", flat=True)[:limit]
    ]
    plan += [
        (pk, max((due - now).total_seconds(), 0.0))
        for pk, due in coming.values_list("pk", "due_at")[:limit]
    ]
    if plan:
        _enqueue(plan)
    return len(plan)


def deliveries_recover(*, now: datetime | None = None) -> int:
    """Send again what a dead worker left in `sending` (ambiguous: resend)."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.VIGIL_DELIVERY_LEASE_SECONDS)
    stuck = Delivery.objects.filter(status=S.SENDING, claimed_at__lt=now - lease)
    note = (
        f"{now:%Y-%m-%d %H:%M:%S} recovered: the worker sending it stopped "
        "answering; sent again (it may arrive twice)"
    )
    recovered: list[int] = []
    for delivery in stuck.only("pk", "claimed_at", "notes"):
        with transaction.atomic():
            taken = Delivery.objects.filter(
                pk=delivery.pk, status=S.SENDING, claimed_at=delivery.claimed_at
            ).update(
                status=S.PENDING,
                due_at=now,
                notes=(delivery.notes + "\n" if delivery.notes else "") + note,
            )
            if taken:
                Delivery.objects.filter(bundled_into=delivery, status=S.BUNDLED).update(
                    status=S.PENDING, bundled_into=None
                )
                recovered.append(delivery.pk)
    if recovered:
        logger.warning("recovered %d deliveries left in sending", len(recovered))
        _enqueue([(pk, 0.0) for pk in recovered])
    return len(recovered)


@transaction.atomic
def delivery_retry(*, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """Send a failed (or cancelled) delivery again, now."""
    now = now or timezone.now()
    reset = Delivery.objects.filter(
        pk=delivery.pk, status__in=[S.FAILED, S.CANCELLED]
    ).update(status=S.PENDING, due_at=now, attempts=0, error="", stops_on_ack=False)
    if not reset:
        raise DeliveryStateError(
            f"only a failed or cancelled delivery can be retried; this one is "
            f"{delivery.status}",
            status=delivery.status,
        )
    delivery.refresh_from_db()
    schedule_after_commit([delivery], now=now)
    return delivery
