"""Public subscribers: people outside who asked to hear of public incidents.

A subscriber is written unconfirmed when someone signs up, and hears of
nothing until they follow the confirmation link sent to the address (double
opt-in); what they confirm is carried by that link, so a sign-up for an
address already confirmed changes nothing until its owner confirms it too.
Unconfirmed sign-ups older than the link's life are dropped.

Every message to them is a delivery with its words already rendered for the
public (`Delivery.Purpose.PUBLIC`), one per (event, subscriber), ever.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from incidents.models import Incident, Service
from notifications.exceptions import NotificationError
from notifications.models import PUBLIC_KINDS, Delivery, Kind, PublicSubscriber
from notifications.services.deliveries import Target, deliveries_write
from notifications.transports import get_transport

PUBLIC_KIND_VALUES = [kind for kind, _label in PUBLIC_KINDS]


def public_address_validate(*, kind: str, address: str) -> str:
    """Return the address normalised by its transport, or refuse it."""
    if kind not in PUBLIC_KIND_VALUES:
        raise NotificationError(f"{kind!r} is not a kind of subscription", field="kind")
    try:
        return get_transport(kind).validate_address(address.strip())
    except ValueError as error:
        raise NotificationError(str(error), field="address") from None


@transaction.atomic
def public_subscriber_request(
    *, kind: str, address: str, expire_after: timedelta, now: datetime | None = None
) -> PublicSubscriber:
    """Return the subscriber of this address, written unconfirmed if new.

    Drop unconfirmed sign-ups older than `expire_after` first (their links
    have expired): the address may sign up afresh.
    """
    now = now or timezone.now()
    address = public_address_validate(kind=kind, address=address)
    PublicSubscriber.objects.filter(
        confirmed_at__isnull=True, created_at__lt=now - expire_after
    ).delete()
    try:
        with transaction.atomic():
            subscriber, _ = PublicSubscriber.objects.get_or_create(
                kind=kind,
                address=address,
                defaults={
                    "created_at": now,
                    "secret": secrets.token_hex(32) if kind == Kind.WEBHOOK else "",
                },
            )
    except IntegrityError:  # the same address, signing up at the same moment
        subscriber = PublicSubscriber.objects.get(kind=kind, address=address)
    return subscriber


@transaction.atomic
def public_subscriber_confirm(
    *,
    subscriber: PublicSubscriber,
    services: Iterable[Service],
    now: datetime | None = None,
) -> PublicSubscriber:
    """Confirm the subscriber (if not yet) and set the services they hear of."""
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now or timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    subscriber.services.set(list(services))
    return subscriber


def public_subscriber_set_services(
    *, subscriber: PublicSubscriber, services: Iterable[Service]
) -> PublicSubscriber:
    """Change which public services a confirmed subscriber hears of."""
    subscriber.services.set(list(services))
    return subscriber


def public_subscriber_delete(*, subscriber: PublicSubscriber) -> None:
    """Forget the subscriber; messages still waiting for them are cancelled."""
    with transaction.atomic():
        Delivery.objects.filter(
            subscriber=subscriber, status=Delivery.Status.PENDING
        ).update(
            status=Delivery.Status.CANCELLED,
            finished_at=timezone.now(),
            error="the subscriber unsubscribed",
        )
        subscriber.delete()


def public_subscriber_get(*, pk: int) -> PublicSubscriber | None:
    """Return the subscriber with this id, or None."""
    return PublicSubscriber.objects.filter(pk=pk).first()


def public_subscribers_of(*, services: Iterable[Service]) -> QuerySet[PublicSubscriber]:
    """Return the confirmed subscribers who hear of any of these services."""
    ids = [service.pk for service in services]
    return (
        PublicSubscriber.objects.filter(confirmed_at__isnull=False)
        .filter(Q(services__isnull=True) | Q(services__in=ids))
        .distinct()
        .order_by("pk")
    )


def public_message_send(
    *,
    event_key: str,
    message_kind: str,
    subscribers: Iterable[PublicSubscriber],
    message_for: Callable[[PublicSubscriber], dict[str, Any]],
    incident: Incident | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """Write one delivery of the event per subscriber, each with its message.

    `message_for` renders a subscriber's message (it carries their own
    manage link). A subscriber who has this event's delivery already gets
    no second one. Return the event's deliveries to these subscribers.
    """
    written: list[Delivery] = []
    for subscriber in subscribers:
        written += deliveries_write(
            purpose=Delivery.Purpose.PUBLIC,
            message_kind=message_kind,
            event_key=event_key,
            incident=incident,
            extra={"message": message_for(subscriber)},
            targets=[
                Target(
                    kind=subscriber.kind,
                    address=subscriber.address,
                    subscriber=subscriber,
                )
            ],
            now=now,
        )
    return written
