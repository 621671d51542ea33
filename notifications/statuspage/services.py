"""Public subscriptions: sign-up, confirmation, managing, and the messages.

Sign-up is rate limited per client address (`VIGIL_STATUS_SIGNUPS_PER_HOUR`,
counted by a hash of the address, never the address itself) and sends a
confirmation link that expires after `VIGIL_STATUS_CONFIRM_HOURS`. The link
carries the services chosen, so nothing is changed until it is followed.
Every message carries a signed link to manage or end the subscription.

A public status update (of a public incident that is not a drill) is sent
to each confirmed subscriber of its services, once: the delivery log keeps
one delivery per (update, subscriber).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from config.errors import VigilError
from incidents.public_selectors import (
    IncidentStatus,
    incident_of,
    public_services_of,
    public_update,
)
from notifications.models import (
    Delivery,
    MessageTemplate,
    PublicSubscriber,
    SignupAttempt,
    StatusPage,
)
from notifications.services.subscribers import (
    public_message_send,
    public_subscriber_confirm,
    public_subscriber_get,
    public_subscriber_request,
    public_subscribers_of,
)
from notifications.statuspage.api import page_url
from notifications.statuspage.selectors import (
    PublicIncident,
    public_incident_of,
    public_key,
    status_page_settings,
)

if TYPE_CHECKING:
    from incidents.models import Service, StatusUpdate

CONFIRM_SALT = "statuspage.confirm"
MANAGE_SALT = "statuspage.manage"
KIND = MessageTemplate.MessageKind


class SignupLimitError(VigilError):
    """Too many sign-ups from one client address this hour."""

    status_code = 429
    code = "limit_reached"


class LinkError(VigilError):
    """A confirmation or manage link that is forged, expired or stale."""

    status_code = 410
    code = "link_unusable"


def confirm_expiry() -> timedelta:
    return timedelta(hours=settings.VIGIL_STATUS_CONFIRM_HOURS)


def _source(client: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{client}".encode()).hexdigest()


def _link(name: str, token: str) -> str:
    return settings.VIGIL_BASE_URL + reverse(name, args=[token])


def _address_tag(subscriber: PublicSubscriber) -> str:
    """Tie a manage link to the address: a re-used row id does not match."""
    return hashlib.sha256(subscriber.address.encode()).hexdigest()[:12]


def manage_url(subscriber: PublicSubscriber) -> str:
    """Return the subscriber's signed link to manage or end the subscription."""
    token = signing.dumps(
        {"s": subscriber.pk, "a": _address_tag(subscriber)}, salt=MANAGE_SALT
    )
    return _link("statuspage:manage", token)


@transaction.atomic
def subscription_request(
    *,
    kind: str,
    address: str,
    services: list[Service],
    client: str,
    now: datetime | None = None,
) -> PublicSubscriber:
    """Sign the address up, unconfirmed, and send it a confirmation link."""
    now = now or timezone.now()
    source = _source(client)
    recent = SignupAttempt.objects.filter(
        source=source, at__gt=now - timedelta(hours=1)
    )
    if recent.count() >= settings.VIGIL_STATUS_SIGNUPS_PER_HOUR:
        raise SignupLimitError(
            "too many sign-ups from your address this hour; try again later"
        )
    SignupAttempt.objects.filter(at__lt=now - timedelta(hours=1)).delete()
    SignupAttempt.objects.create(source=source, at=now)
    subscriber = public_subscriber_request(
        kind=kind, address=address, expire_after=confirm_expiry(), now=now
    )
    token = signing.dumps(
        {"s": subscriber.pk, "v": [s.pk for s in services]}, salt=CONFIRM_SALT
    )
    confirm = _link("statuspage:confirm", token)
    page = status_page_settings()
    names = ", ".join(s.public_name or s.name for s in services) or "every service"
    context = {
        "page": page,
        "confirm_url": confirm,
        "services": names,
        "hours": settings.VIGIL_STATUS_CONFIRM_HOURS,
    }
    text = render_to_string("statuspage/messages/confirm.txt", context)
    public_message_send(
        event_key=f"status-confirm:{subscriber.pk}:{int(now.timestamp())}",
        message_kind=KIND.VERIFICATION,
        subscribers=[subscriber],
        message_for=lambda _s: {
            "subject": f"Confirm your subscription to {page.name} status",
            "text": text,
            "chat": text,
            "short": f"Confirm: {confirm}",
            "title": f"{page.name} status",
            "incident_url": confirm,
        },
        now=now,
    )
    return subscriber


def subscription_confirm(
    *, token: str, now: datetime | None = None
) -> PublicSubscriber:
    """Confirm the subscription a confirmation link names, with its services."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=confirm_expiry())
    except signing.SignatureExpired:
        raise LinkError("this confirmation link has expired; sign up again") from None
    except signing.BadSignature:
        raise LinkError("this confirmation link is not valid") from None
    subscriber = public_subscriber_get(pk=int(data["s"]))
    if subscriber is None:
        raise LinkError("this sign-up has expired; sign up again")
    services = list(public_services_of(pks=data.get("v", [])))
    return public_subscriber_confirm(subscriber=subscriber, services=services, now=now)


def subscriber_from_manage_token(token: str) -> PublicSubscriber:
    """Return the subscriber a manage link names, or refuse the link."""
    try:
        data = signing.loads(token, salt=MANAGE_SALT)
    except signing.BadSignature:
        raise LinkError("this link is not valid") from None
    subscriber = public_subscriber_get(pk=int(data["s"]))
    if subscriber is None or _address_tag(subscriber) != data.get("a"):
        raise LinkError("this subscription has ended")
    return subscriber


def _message_kind(update: StatusUpdate, incident: PublicIncident) -> str:
    """Return resolution, initial (the first public update) or update."""
    if update.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        return KIND.RESOLUTION
    first = incident.updates[-1].id if incident.updates else None
    return KIND.INITIAL if first == public_key("update", update.pk) else KIND.UPDATE


def status_update_announce(*, update_id: int) -> list[Delivery]:
    """Send a public update of a public incident to its subscribers, once each.

    Internal updates, drills and private incidents send nothing.
    """
    update = public_update(update_id=update_id)
    if update is None:
        return []
    incident = public_incident_of(incident_id=update.incident_id)
    if incident is None:
        return []
    key = public_key("update", update.pk)
    body = next((u.body for u in incident.updates if u.id == key), "")
    page = status_page_settings()
    kind = _message_kind(update, incident)
    services = public_services_of(pks=[c.pk for c in incident.components])
    with transaction.atomic():
        return public_message_send(
            event_key=f"status-update:{update.pk}",
            message_kind=kind,
            subscribers=public_subscribers_of(services=services),
            message_for=lambda s: _update_message(page, incident, body, s),
            incident=incident_of(incident_id=update.incident_id),
        )


def _update_message(
    page: StatusPage, incident: PublicIncident, body: str, subscriber: PublicSubscriber
) -> dict[str, Any]:
    """Return one subscriber's message of a public update: public words only."""
    link = f"{page_url()}#incident-{incident.id}"
    context = {
        "page": page,
        "incident": incident,
        "body": body,
        "link": link,
        "manage_url": manage_url(subscriber),
    }
    text = render_to_string("statuspage/messages/update.txt", context)
    status = incident.status.title()
    return {
        "subject": f"[{page.name}] {status}: {incident.name}",
        "text": text,
        "chat": text,
        "short": f"{status}: {incident.name} {link}",
        "title": incident.name,
        "incident_url": link,
        "data": {
            "incident": incident.id,
            "status": incident.status,
            "impact": incident.impact,
            "components": [c.name for c in incident.components],
            "manage_url": context["manage_url"],
        },
    }
