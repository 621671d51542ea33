"""The delivery log: every message is a row before it is sent.

A delivery goes pending → sending → sent | failed (or cancelled, or bundled
into another). Writing it is the caller's business transaction; sending is
a `notifications` task that claims the row with a conditional update, so
a duplicate task or a racing worker finds nothing to do (`sending.py`).

A worker killed between claim and answer leaves a row in `sending` whose
fate is unknown: the provider may or may not have the message. After the
lease (VIGIL_DELIVERY_LEASE_SECONDS) the recovery sweep sends it again: a
page delivered twice is better than a page lost, as PagerDuty also holds.
Webhooks carry `X-Vigil-Delivery` so a receiver can drop that duplicate.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from incidents.models import Incident
from notifications.exceptions import DeliveryStateError
from notifications.models import Channel, ContactMethod, Delivery, PublicSubscriber
from notifications.services.reporting import deliveries_report_left_behind

logger = logging.getLogger(__name__)

S = Delivery.Status
# Waits up to this long go to the broker as a countdown; longer ones are left
# to the due sweep, so that nothing sits in a worker past RabbitMQ's
# consumer_timeout.
COUNTDOWN_LIMIT = timedelta(minutes=10)
# The due sweep re-drives rows this late, the ones whose message was lost.
SWEEP_GRACE = timedelta(seconds=5)
# Deliveries due together travel together: one task message sends up to this
# many in turn (sending.py says how each is claimed). A channel message to 50
# channels is one task message, so its batch loads, renders and reports it
# once and keeps one connection per host; `sending.BATCH_SECONDS` bounds how
# long a batch runs.
SEND_BATCH = 50
# The priority of a page's task message on RabbitMQ, by its incident's severity.
PAGE_PRIORITY = {"P0": 9, "P1": 7, "P2": 5, "P3": 3}
# Why a delivery stopped whose contact method or channel is gone.
OWNER_DELETED = "its contact method or channel was deleted"


@dataclass(frozen=True)
class Target:
    """One destination of a new delivery."""

    kind: str
    address: str
    contact_method: ContactMethod | None = None
    channel: Channel | None = None
    subscriber: PublicSubscriber | None = None
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
            subscriber=t.subscriber,
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
    if _insert_new(rows):
        written = sorted(rows, key=lambda row: (row.due_at, row.pk))
    else:  # some were there already: read them as they are
        wanted = {_owner(row) for row in rows}
        same_event = Delivery.objects.filter(event_key__in={key[0] for key in wanted})
        written = [
            row for row in same_event.order_by("due_at", "id") if _owner(row) in wanted
        ]
    severity = incident.severity_id if incident is not None else None
    schedule_after_commit(
        written, now=now, lane=send_lane(purpose=purpose, severity=severity)
    )
    return written


def _insert_new(rows: list[Delivery]) -> bool:
    """Insert the rows not there yet (by event and destination), in one
    statement; if every row was new, give each its id and return True.

    Written out: `bulk_create` ignoring conflicts returns no ids, and reading
    the rows back cost every page and channel message a second statement.
    """
    params = [
        field.get_db_prep_save(field.pre_save(row, True), connection)
        for row in rows
        for field in _FIELDS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT.format(", ".join([_ROW] * len(rows))), params)
        ids = {tuple(owner): pk for pk, *owner in cursor.fetchall()}
    if len(ids) != len(rows):
        return False
    for row in rows:
        row.pk = ids[_owner(row)]
        row._state.adding = False
        row._state.db = connection.alias
    return True


_FIELDS = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
# The id, then what `_owner` says of a row, as the INSERT returns them.
_RETURNED = ("id", "event_key", "contact_method", "channel", "subscriber")
_quote = connection.ops.quote_name
_column = {f.name: f.column for f in Delivery._meta.concrete_fields}
_ROW = f"({', '.join(['%s'] * len(_FIELDS))})"
_INSERT = (
    f"INSERT INTO {_quote(Delivery._meta.db_table)}"  # noqa: S608 - model names
    f" ({', '.join(_quote(f.column) for f in _FIELDS)}) VALUES {{}}"
    " ON CONFLICT DO NOTHING RETURNING"
    f" {', '.join(_quote(_column[name]) for name in _RETURNED)}"
)


def delivery_write_to_method(
    *,
    contact_method: ContactMethod,
    purpose: str,
    message_kind: str,
    event_key: str,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Delivery:
    """Write one message to one contact method of its owner (a code, a test)."""
    (delivery,) = deliveries_write(
        purpose=purpose,
        message_kind=message_kind,
        event_key=event_key,
        targets=[
            Target(
                kind=contact_method.kind,
                address=contact_method.address,
                contact_method=contact_method,
            )
        ],
        user=contact_method.user,
        extra=extra,
        now=now,
    )
    return delivery


def _owner(row: Delivery) -> tuple[str, int | None, int | None, int | None]:
    """Return what makes a delivery one of a kind: its event and destination."""
    return (row.event_key, row.contact_method_id, row.channel_id, row.subscriber_id)


def schedule_after_commit(
    deliveries: Iterable[Delivery],
    *,
    now: datetime,
    lane: tuple[str, int] | None = None,
) -> None:
    """After commit, ask a worker to send each pending delivery when due,
    on `lane` when the caller knows it (see `deliveries_enqueue`)."""
    plan = [
        (d.pk, max((d.due_at - now).total_seconds(), 0.0))
        for d in deliveries
        if d.status == S.PENDING and d.due_at - now <= COUNTDOWN_LIMIT
    ]
    if plan:
        transaction.on_commit(
            lambda: deliveries_enqueue(plan=plan, lane=lane), robust=True
        )


def deliveries_enqueue(
    *, plan: list[tuple[int, float]], lane: tuple[str, int] | None = None
) -> None:
    """Ask a worker to send each (delivery id, seconds from now) of `plan`.

    What is due now goes in batches, each later one alone at its time. A row
    asked for twice is harmless: the send claims it. Pages go to the `pages`
    queue at their incident's severity's priority, the rest to
    `notifications` (`send_lane`), so a storm of channel messages never
    queues ahead of a page. `lane`: the one lane of every delivery of
    `plan`, when the caller knows it (a write: one purpose, one incident,
    at its severity then); else each row's is read now, and a row gone
    since is left out (with `lane`, its send finds nothing to claim).
    """
    from notifications.tasks import deliveries_send_task

    if lane is not None:
        lanes = dict.fromkeys((pk for pk, _ in plan), lane)
    else:
        lanes = {
            pk: send_lane(purpose=purpose, severity=severity)
            for pk, purpose, severity in Delivery.objects.filter(
                pk__in=[pk for pk, _ in plan]
            ).values_list("pk", "purpose", "incident__severity")
        }
    due: dict[tuple[str, int], list[int]] = defaultdict(list)
    for pk, countdown in plan:
        if pk in lanes and countdown <= 0:
            due[lanes[pk]].append(pk)
    for (queue, priority), ids in due.items():
        for start in range(0, len(ids), SEND_BATCH):
            deliveries_send_task.apply_async(
                kwargs={"delivery_ids": ids[start : start + SEND_BATCH]},
                queue=queue,
                priority=priority,
            )
    for pk, countdown in plan:
        if pk in lanes and countdown > 0:
            queue, priority = lanes[pk]
            deliveries_send_task.apply_async(
                kwargs={"delivery_ids": [pk]},
                countdown=countdown,
                queue=queue,
                priority=priority,
            )


def send_lane(*, purpose: str, severity: str | None) -> tuple[str, int]:
    """The queue and priority of a delivery's task message: a page goes to
    `pages`, the more severe its incident the sooner (P0 9 … P3 3, 5 for a
    severity outside the matrix's codes); anything else to `notifications`
    (not a priority queue: priority 0, the broker's default)."""
    if purpose != Delivery.Purpose.PAGE:
        return "notifications", 0
    return "pages", PAGE_PRIORITY.get(severity or "", 5)


def deliveries_cancel(*, incident: Incident, reason: str) -> int:
    """Stop the incident's pages still waiting (an acknowledgement came)."""
    return Delivery.objects.filter(
        incident=incident, status=S.PENDING, stops_on_ack=True
    ).update(status=S.CANCELLED, finished_at=timezone.now(), error=reason)


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
        deliveries_enqueue(plan=plan)
    return len(plan)


def deliveries_recover(*, now: datetime | None = None) -> int:
    """Take over what a dead worker left: send again, and report (beat).

    A row left in `sending` is ambiguous: it is sent again, noted, and
    counted in the return value. A row finished but never reported (its
    batch died before the end) is reported now.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.VIGIL_DELIVERY_LEASE_SECONDS)
    deliveries_report_left_behind(finished_before=now - lease)
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
        deliveries_enqueue(plan=[(pk, 0.0) for pk in recovered])
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
