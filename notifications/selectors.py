"""Reads of the notifications app, scoped to what a user may see."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from config.accesslog import REDACTED, redact_links
from incidents.models import Incident
from incidents.selectors import details_visible_q, service_list
from notifications.models import (
    Channel,
    ContactMethod,
    Delivery,
    NotificationRule,
    Subscription,
)

User = AbstractBaseUser | AnonymousUser
# What a delivery's message carries that acts as its recipient: the
# acknowledge/resolve links of a page, its SMS reply code, a verification code.
SECRET_CODES = ("sms_code", "code")
# The provider's answer and the errors may quote the message (Twilio echoes
# an SMS's body).
QUOTING_FIELDS = ("provider_response", "error", "notes")


def _everything(user: User) -> bool:
    return bool(getattr(user, "is_superuser", False))


def contact_method_list(*, user: User) -> QuerySet[ContactMethod]:
    """Return the user's own contact methods (everyone's for a superuser)."""
    methods = ContactMethod.objects.select_related("user")
    return methods if _everything(user) else methods.filter(user_id=user.pk or 0)


@dataclass(frozen=True)
class UnconfirmedMethod:
    """A contact method whose contact test is not confirmed, as other apps
    show it."""

    user_id: int
    kind: str  # the kind's label: "SMS (Twilio)"
    address: str  # URL secrets masked
    since: datetime


def contact_methods_unconfirmed(
    *, user_ids: list[int]
) -> dict[int, list[UnconfirmedMethod]]:
    """Return the methods of these users whose contact test is unconfirmed,
    by user id, the longest unconfirmed first (the on-call view)."""
    found: dict[int, list[UnconfirmedMethod]] = {}
    for method in ContactMethod.objects.filter(
        user_id__in=user_ids, unconfirmed_since__isnull=False
    ).order_by("unconfirmed_since", "id"):
        found.setdefault(method.user_id, []).append(
            UnconfirmedMethod(
                user_id=method.user_id,
                kind=method.get_kind_display(),
                address=method.display_address,
                since=cast(datetime, method.unconfirmed_since),  # filtered on
            )
        )
    return found


def notification_rule_list(*, user: User) -> QuerySet[NotificationRule]:
    """Return the user's own notification rules (everyone's for a superuser)."""
    rules = NotificationRule.objects.select_related("contact_method", "user")
    return rules if _everything(user) else rules.filter(user_id=user.pk or 0)


def subscription_list(*, user: User) -> QuerySet[Subscription]:
    """Return the stakeholder subscriptions to the services of the user's teams."""
    subscriptions = Subscription.objects.select_related(
        "service", "contact_method__user", "channel"
    )
    if _everything(user):
        return subscriptions
    return subscriptions.filter(service__in=service_list(user=user))


def channel_list(*, user: User) -> QuerySet[Channel]:
    """Return the channels of the user's teams and of their services."""
    channels = Channel.objects.select_related("team", "service", "minimum_severity")
    if _everything(user):
        return channels
    return channels.filter(
        Q(team__memberships__user_id=user.pk)
        | Q(service__team__memberships__user_id=user.pk)
    ).distinct()


def delivery_list(*, user: User) -> QuerySet[Delivery]:
    """Return deliveries about the user's teams' incidents, and their own."""
    deliveries = Delivery.objects.select_related(
        "incident", "user", "contact_method", "channel", "bundled_into"
    )
    if _everything(user):
        return deliveries
    # A restricted incident's messages are its named responders' (and each
    # recipient's own), as its details are.
    return (
        deliveries.filter(
            Q(user_id=user.pk)
            | Q(incident__service__team__memberships__user_id=user.pk)
            | Q(channel__team__memberships__user_id=user.pk)
            | Q(channel__service__team__memberships__user_id=user.pk)
        )
        .filter(
            Q(user_id=user.pk)
            | Q(incident__isnull=True)
            | details_visible_q(user, "incident__")
        )
        .distinct()
    )


def _page_cause(incident_id: int, event_key: str) -> str:
    return f"page:{incident_id}:{event_key}"


def page_event_key(*, incident_id: int, event_key: str, user_id: int) -> str:
    """Return the event key of the deliveries paging a user about an incident
    for `event_key` (what caused the page); each rule step adds `@<delay>`."""
    return f"{_page_cause(incident_id, event_key)}:u{user_id}"


def page_delivery_list(
    *, incident: Incident, event_keys: Iterable[str]
) -> dict[tuple[str, int], list[Delivery]]:
    """Return the incident's pages caused by `event_keys`, by (event key,
    user id), each person's oldest first, with their contact methods."""
    wanted = {_page_cause(incident.pk, key): key for key in event_keys}
    pages = Delivery.objects.filter(
        incident=incident, purpose=Delivery.Purpose.PAGE
    ).select_related("contact_method", "bundled_into", "user")
    found: dict[tuple[str, int], list[Delivery]] = {}
    for delivery in pages.order_by("created_at", "id"):
        cause = delivery.event_key.partition("@")[0].rpartition(":u")[0]
        key = wanted.get(cause)
        if key is not None and delivery.user_id is not None:
            found.setdefault((key, delivery.user_id), []).append(delivery)
    return found


def delivery_as_seen_by(*, delivery: Delivery, viewer: User | None) -> Delivery:
    """Return the delivery as `viewer` may see it.

    Only its recipient sees the links and codes its message carries: anyone
    else (a team mate, an admin) gets a copy with them replaced, wherever
    they are quoted, since whoever holds them acts as the recipient.
    """
    if viewer is not None and delivery.user_id and viewer.pk == delivery.user_id:
        return delivery
    extra: dict[str, Any] = dict(delivery.extra or {})
    codes = [str(extra[name]) for name in SECRET_CODES if extra.get(name)]
    for name in SECRET_CODES:
        if name in extra:
            extra[name] = REDACTED
    if isinstance(extra.get("links"), dict):
        extra["links"] = {
            action: redact_links(str(url)) for action, url in extra["links"].items()
        }
    seen = copy.copy(delivery)
    seen.extra = extra
    for field in QUOTING_FIELDS:
        setattr(seen, field, _without(getattr(delivery, field), codes))
    return seen


def _without(text: str, codes: list[str]) -> str:
    text = redact_links(text)
    for code in codes:
        text = re.sub(rf"(?<!\d){re.escape(code)}(?!\d)", REDACTED, text)
    return text


def provider_responses_visible(*, user: User | None) -> bool:
    """Return whether `user` may read what providers answered to deliveries.

    Only superusers may: with an allow-listed host, the answer is whatever
    that host says, and a user who points a webhook at it must not read it
    back. Everyone else sees the status and the error (our own words).
    """
    return user is not None and _everything(user)
