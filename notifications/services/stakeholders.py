"""Internal stakeholders: people and chat channels subscribed to a service.

A subscriber hears of the service's incidents (and of incidents that list
the service as affected) the way its channels do: the initial notification,
status updates and the resolution, as chosen. Each message is one delivery
per (update, subscriber): the delivery log's unique (event, destination)
makes a subscriber listed twice, or a channel that is also the incident's
own, hear once. A drill reaches only subscribers who asked for drills, and
its messages say [DRILL] like every drill message.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q

from incidents.models import Incident, Service
from notifications.exceptions import NotificationError
from notifications.models import Channel, ContactMethod, Kind, Subscription
from notifications.services.deliveries import Target

FLAGS = {"initial": "on_initial", "update": "on_update", "resolution": "on_resolution"}
# Stakeholders are told, not paged: never by phone.
PHONE_KINDS = (Kind.SMS, Kind.VOICE)
EDITABLE = ("on_initial", "on_update", "on_resolution", "drills")


def subscriber_targets(*, incident: Incident, message_kind: str) -> list[Target]:
    """Return the destinations of the incident's subscribers for `message_kind`."""
    services = Q(service_id=incident.service_id) | Q(
        service__affected_by_incidents=incident
    )
    subscriptions = Subscription.objects.filter(services, **{FLAGS[message_kind]: True})
    if incident.is_drill:
        subscriptions = subscriptions.filter(drills=True)
    subscriptions = subscriptions.filter(
        Q(channel__enabled=True) | Q(contact_method__verified_at__isnull=False)
    ).select_related("channel", "contact_method")
    targets: dict[tuple[str, int], Target] = {}
    for sub in subscriptions.order_by("id"):
        if sub.channel is not None:
            targets[("c", sub.channel.pk)] = Target(
                kind=sub.channel.kind, address=sub.channel.address, channel=sub.channel
            )
        elif sub.contact_method is not None:
            method = sub.contact_method
            targets[("m", method.pk)] = Target(
                kind=method.kind, address=method.address, contact_method=method
            )
    return list(targets.values())


def _check_subscriber(
    contact_method: ContactMethod | None, channel: Channel | None
) -> None:
    if (contact_method is None) == (channel is None):
        raise NotificationError(
            "a subscription is of a contact method or of a channel (one of them)",
            field="contact_method",
        )
    if contact_method is not None and contact_method.kind in PHONE_KINDS:
        raise NotificationError(
            "stakeholders are told by email, chat or webhook, not by phone",
            field="contact_method",
        )


@transaction.atomic
def subscription_create(
    *,
    service: Service,
    by: User | None,
    contact_method: ContactMethod | None = None,
    channel: Channel | None = None,
    **flags: bool,
) -> Subscription:
    """Subscribe a person's contact method, or a channel, to the service."""
    _check_subscriber(contact_method, channel)
    unknown = set(flags) - set(EDITABLE)
    if unknown:
        raise NotificationError(f"cannot set {', '.join(sorted(unknown))}")
    try:
        with transaction.atomic():
            return Subscription.objects.create(
                service=service,
                contact_method=contact_method,
                channel=channel,
                created_by=by,
                **flags,
            )
    except IntegrityError:
        raise NotificationError(
            "this subscriber is subscribed to the service already", field="service"
        ) from None


def subscription_update(*, subscription: Subscription, **changes: Any) -> Subscription:
    """Change which messages the subscriber hears of."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise NotificationError(f"cannot change {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(subscription, name, value)
    subscription.save(update_fields=list(changes) or None)
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    """Stop telling the subscriber of the service's incidents."""
    subscription.delete()
