"""Sending deliveries: claim each once, send it, record the answer, report.

A task message carries a batch of delivery ids (`deliveries.SEND_BATCH`).
The batch loads its rows in one query, renders each distinct message once
and reuses connections per host. Each answer is recorded as soon as it
comes, and the apps above hear of the batch once, at its end
(`deliveries_finished`): one timeline entry per message rather than one per
destination.

Claims are conditional updates (pending and due → sending), so a duplicate
task message or a racing worker finds nothing to claim:

* a page (or any delivery to a person's contact method) is claimed on its
  own when its turn comes, re-checking the incident's status and the
  method's rate limit then; a worker that dies mid-batch leaves the pages it
  had not reached `pending`, for the redelivered task message to send at
  once;
* a batch's channel deliveries (no acknowledgement to re-check, no rate
  limit) are claimed together by one update when it starts: a channel
  message to 50 channels is one claim, not 50. A worker that dies mid-batch
  leaves those it had not finished in `sending`, for the recovery sweep.

Either way the recovery lease (VIGIL_DELIVERY_LEASE_SECONDS) covers every
send of a live worker: a batch starts no send later than half the lease (and
`BATCH_SECONDS`) after it started, and gives back what it has not reached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents.models import Incident
from notifications import outbound
from notifications.models import ContactMethod, Delivery
from notifications.services import rows
from notifications.services.deliveries import (
    OWNER_DELETED,
    deliveries_enqueue,
    schedule_after_commit,
)
from notifications.services.messages import MessageRenderer, message_bundle
from notifications.services.reporting import deliveries_report
from notifications.transports import get_transport
from notifications.transports.base import Destination, Message, TransportError

logger = logging.getLogger(__name__)

S = Delivery.Status
MAX_BACKOFF = timedelta(minutes=5)
NOT_BUNDLED = (
    Delivery.Purpose.VERIFICATION,
    Delivery.Purpose.TEST,
    Delivery.Purpose.CONTACT_TEST,
)
# A batch starts no send after running this long (or half the lease, if
# shorter): the rest go back to the queue, so that a batch of slow providers
# stays inside the task's time limit (notifications/tasks.py) and every
# claim well inside its lease.
BATCH_SECONDS = 60.0


@dataclass
class Claim:
    delivery: Delivery
    bundled: list[Delivery]


@dataclass
class Batch:
    """What the deliveries of one task message share."""

    renderer: MessageRenderer
    now: datetime | None  # a fixed time (tests); None: the clock, per claim
    claimed: dict[int, Delivery] = field(default_factory=dict)  # claimed together
    finished: list[Delivery] = field(default_factory=list)
    bundled: dict[int, int] = field(default_factory=dict)


def deliveries_send(
    *, delivery_ids: list[int], now: datetime | None = None
) -> list[str]:
    """Send each delivery still pending and due, in turn; return the outcomes.

    An outcome is what `delivery_send` says, or `requeued` for the ids given
    back to a new task message when the batch ran out of time.
    """
    started = time.monotonic()
    budget = min(BATCH_SECONDS, settings.VIGIL_DELIVERY_LEASE_SECONDS / 2)
    loaded = _load(delivery_ids, now or timezone.now())
    batch = Batch(renderer=MessageRenderer(now=now or timezone.now()), now=now)
    _claim_channels(loaded, batch)
    outcomes: list[str] = []
    with outbound.connections():
        for index, pk in enumerate(delivery_ids):
            if time.monotonic() - started > budget:
                _give_back(delivery_ids[index:], loaded, batch)
                outcomes += ["requeued"] * (len(delivery_ids) - index)
                break
            delivery = loaded.get(pk)
            outcomes.append("skipped" if delivery is None else _send(delivery, batch))
    deliveries_report(deliveries=batch.finished, bundled=batch.bundled)
    return outcomes


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> str:
    """Claim the delivery, send it once, and record the outcome.

    Return what happened: sent, failed, retrying, postponed, cancelled or
    skipped (not pending or not due: someone else has it).
    """
    (outcome,) = deliveries_send(delivery_ids=[delivery_id], now=now)
    return outcome


def _load(delivery_ids: list[int], now: datetime) -> dict[int, Delivery]:
    # Only what may be claimed: a duplicate task message costs this one query.
    # Unordered: the batch goes in the order of `delivery_ids` (and building
    # the model's default ORDER BY was a sixth of this query's CPU).
    due = (
        Delivery.objects.select_related(*rows.LOADED_WITH)
        .filter(pk__in=delivery_ids, status=S.PENDING, due_at__lte=now)
        .order_by()
    )
    return {delivery.pk: delivery for delivery in due}


def _give_back(rest: list[int], loaded: dict[int, Delivery], batch: Batch) -> None:
    """Hand what this batch has no time left for to a new task message."""
    unsent = [batch.claimed.pop(pk) for pk in rest if pk in batch.claimed]
    _release(unsent)
    ids = [pk for pk in rest if pk in loaded]
    _after_commit_now(lambda: deliveries_enqueue(plan=[(pk, 0.0) for pk in ids]))


def _send(delivery: Delivery, batch: Batch) -> str:
    if _together(delivery):
        claimed = batch.claimed.pop(delivery.pk, None)
        if claimed is None:  # someone else has it
            return "skipped"
        claim = Claim(claimed, [])
    else:
        outcome, one = _claim(delivery, batch.now or timezone.now())
        if one is None:
            return outcome
        claim = one
    try:
        message = _message(claim, batch.renderer)
        result = get_transport(delivery.kind).send(
            message,
            Destination(delivery.kind, delivery.destination, _secret(delivery)),
        )
    except TransportError as error:
        return _record_error(claim, error, batch)
    except Exception as error:  # a bug must not leave the page in limbo
        logger.exception("delivery %s crashed", delivery.pk)
        return _record_error(
            claim,
            TransportError(f"{type(error).__name__}: {error}", permanent=True),
            batch,
        )
    _finish(
        claim,
        S.SENT,
        batch,
        provider_status=result.status,
        provider_id=result.provider_id[:200],
        provider_response=result.body[:2000],
    )
    return "sent"


def _secret(delivery: Delivery) -> str:
    owner = delivery.contact_method or delivery.channel or delivery.subscriber
    return owner.secret if owner is not None else ""


# --- Claiming ----------------------------------------------------------------


def _together(delivery: Delivery) -> bool:
    """Return whether the delivery is claimed with the batch, not on its own.

    Those are channel deliveries: no rate limit to check, nothing that stops
    on acknowledgement, so nothing to re-check at the moment of sending.
    """
    return delivery.channel_id is not None and not delivery.stops_on_ack


def _claim_channels(loaded: dict[int, Delivery], batch: Batch) -> None:
    """Claim the batch's channel deliveries, all in one conditional update."""
    together = [pk for pk, delivery in loaded.items() if _together(delivery)]
    if not together:
        return
    now = batch.now or timezone.now()
    for pk, attempts, notes in rows.claim_several(together, now):
        delivery = loaded[pk]
        delivery.status, delivery.claimed_at = S.SENDING, now
        delivery.attempts, delivery.notes = attempts, notes
        batch.claimed[pk] = delivery


def _release(deliveries: list[Delivery]) -> None:
    """Put deliveries claimed together but never tried back as they were."""
    if deliveries:
        Delivery.objects.filter(
            pk__in=[d.pk for d in deliveries],
            status=S.SENDING,
            claimed_at=deliveries[0].claimed_at,  # the same for all of them
        ).update(status=S.PENDING, attempts=F("attempts") - 1)


def _claim(delivery: Delivery, now: datetime) -> tuple[str, Claim | None]:
    """Claim one delivery, re-checking its incident's status and rate limit."""
    row = rows.claim_one(delivery.pk, now)
    if row is None:  # someone else has it, or it is not due
        return "skipped", None
    attempts, stops_on_ack, notes, incident_status = row
    delivery.status, delivery.claimed_at = S.SENDING, now
    delivery.attempts, delivery.stops_on_ack = attempts, bool(stops_on_ack)
    delivery.notes = notes
    if delivery.incident is not None and incident_status is not None:
        delivery.incident.status = incident_status
    if (
        delivery.contact_method_id is None
        and delivery.channel_id is None
        and delivery.subscriber_id is None
    ):
        # Deleted while this delivery was being sent (it then went back to
        # pending to retry): nobody wants it any more.
        _close(delivery, S.CANCELLED, error=OWNER_DELETED)
        return "cancelled", None
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
    others = list(waiting.select_related(*rows.LOADED_WITH).order_by("due_at", "id"))
    others = [d for d in others if not _acknowledged(d)]
    ids = [d.pk for d in others]
    Delivery.objects.filter(pk__in=ids, status=S.PENDING).update(
        status=S.BUNDLED, bundled_into=delivery, claimed_at=now
    )
    # Only what the update took: a row another worker claimed since it was
    # read (the same task message on two workers) is that worker's to send.
    taken = set(
        Delivery.objects.filter(
            pk__in=ids, status=S.BUNDLED, bundled_into=delivery
        ).values_list("pk", flat=True)
    )
    return [d for d in others if d.pk in taken]


# --- Recording ---------------------------------------------------------------


def _message(claim: Claim, renderer: MessageRenderer) -> Message:
    primary = renderer.render(claim.delivery)
    return message_bundle(primary, [renderer.render(d) for d in claim.bundled])


def _record_error(claim: Claim, error: TransportError, batch: Batch) -> str:
    delivery = claim.delivery
    details = {
        "provider_status": error.status,
        "provider_response": error.body[:2000],
        "error": str(error)[:2000],
    }
    if error.permanent or delivery.attempts >= settings.VIGIL_DELIVERY_MAX_ATTEMPTS:
        _finish(claim, S.FAILED, batch, **details)
        return "failed"
    now = timezone.now()
    backoff = timedelta(seconds=min(5 * 2 ** (delivery.attempts - 1), 300))
    if error.retry_after is not None:
        backoff = timedelta(seconds=max(error.retry_after, 0))
    due = now + min(backoff, MAX_BACKOFF)
    if rows.update_claimed(delivery, status=S.PENDING, due_at=due, **details):
        delivery.status, delivery.due_at = S.PENDING, due
        plan = [(delivery.pk, (due - now).total_seconds())]
        _after_commit_now(lambda: deliveries_enqueue(plan=plan))
    return "retrying"


def _finish(claim: Claim, status: str, batch: Batch, **fields: Any) -> None:
    """Close a claimed delivery, unless the recovery sweep took it back."""
    delivery = claim.delivery
    now = timezone.now()
    if status == S.SENT:
        fields["sent_at"] = now
    if not rows.update_claimed(
        delivery, status=status, finished_at=now, report_due=True, **fields
    ):
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
    delivery.status, delivery.finished_at = status, now
    batch.finished.append(delivery)
    if ids:
        batch.bundled[delivery.pk] = len(ids)


def _close(delivery: Delivery, status: str, *, error: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status, finished_at=timezone.now(), error=error
    )


def _after_commit_now(callback: Callable[[], Any]) -> None:
    transaction.on_commit(callback, robust=True)
