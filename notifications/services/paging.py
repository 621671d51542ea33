"""What other apps call: page a responder, tell a team's channels.

Both only write deliveries, inside the caller's transaction, and return:
the `notifications` queue sends them after commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident
from notifications.models import (
    Channel,
    ContactMethod,
    Delivery,
    Kind,
    NotificationRule,
    Urgency,
)
from notifications.selectors import page_event_key
from notifications.services.deliveries import Target, deliveries_write
from notifications.services.links import action_links_issue_for
from notifications.services.stakeholders import subscriber_targets

Purpose = Delivery.Purpose
# P0 and P1 page with high urgency (the severities paged at declaration).
HIGH_URGENCY_RANKS = (0, 1)
CHANNEL_FLAGS = {
    "initial": "on_initial",
    "update": "on_update",
    "resolution": "on_resolution",
}


def urgency_of(incident: Incident) -> str:
    """Return which of a user's notification rules apply to the incident."""
    high = incident.severity.rank in HIGH_URGENCY_RANKS
    return Urgency.HIGH if high else Urgency.LOW


def page_targets(*, user: User, urgency: str, now: datetime) -> list[Target]:
    """Return where and when a page reaches `user`, by their rules.

    Without rules for the urgency, every verified contact method is used at
    once: a responder who set nothing up is still reached.
    """
    return page_targets_for(users=[user], urgency=urgency, now=now)[user.pk]


def page_targets_for(
    *, users: Iterable[User], urgency: str, now: datetime
) -> dict[int, list[Target]]:
    """Return each user's `page_targets`, by user id, read for all of them
    together."""
    steps: dict[int, list[tuple[ContactMethod, timedelta]]] = {
        user.pk: [] for user in users
    }
    rules = NotificationRule.objects.filter(
        user_id__in=list(steps),
        urgency=urgency,
        contact_method__verified_at__isnull=False,
    ).select_related("contact_method")
    for rule in rules:
        steps[rule.user_id].append((rule.contact_method, rule.delay))
    ruleless = [user_id for user_id, found in steps.items() if not found]
    if ruleless:
        delay = NotificationRule._meta.get_field("delay").default
        methods = ContactMethod.objects.filter(
            user_id__in=ruleless, verified_at__isnull=False
        )
        for method in methods:
            steps[method.user_id].append((method, delay))
    return {
        user_id: [
            Target(
                kind=method.kind,
                address=method.address,
                contact_method=method,
                due_at=now + delay,
                key_suffix=f"@{int(delay.total_seconds())}",
            )
            for method, delay in found
        ]
        for user_id, found in steps.items()
    }


def remind_user(
    *,
    incident: Incident,
    user: User,
    event_key: str,
    reminder: dict[str, str],
    urgent: bool,
    now: datetime | None = None,
) -> list[Delivery]:
    """Remind `user` that the incident's status update is due (or overdue).

    `urgent` reaches them by their high-urgency rules, as a page does. The
    same `event_key` reminds a person once, however often this is called.
    """
    now = now or timezone.now()
    urgency = Urgency.HIGH if urgent else urgency_of(incident)
    return deliveries_write(
        purpose=Purpose.PAGE,
        message_kind="reminder",
        event_key=f"reminder:{incident.pk}:{event_key}:u{user.pk}",
        targets=page_targets(user=user, urgency=urgency, now=now),
        incident=incident,
        user=user,
        extra={"reminder": reminder},
        now=now,
    )


def page_user(
    *,
    incident: Incident,
    user: User,
    event_key: str,
    stops_on_ack: bool = True,
    now: datetime | None = None,
) -> list[Delivery]:
    """Page `user` about the incident on their rules for its urgency.

    `event_key` names what causes the page (an escalation step); the same
    key pages a person once per contact method and rule step, however often
    this is called. Return the deliveries; an empty list means the user has
    no verified way to be reached, which the caller must record.
    """
    return page_users(
        incident=incident,
        users=[user],
        event_key=event_key,
        stops_on_ack=stops_on_ack,
        now=now,
    )[user.pk]


def page_users(
    *,
    incident: Incident,
    users: Iterable[User],
    event_key: str,
    stops_on_ack: bool = True,
    now: datetime | None = None,
) -> dict[int, list[Delivery]]:
    """Page each of `users` as `page_user` does; return each one's
    deliveries by user id.

    Their rules, contact methods and links are read (and the links issued)
    for all of them together; each person's deliveries are still written,
    and sent, apart.
    """
    now = now or timezone.now()
    users = list(users)
    targets = page_targets_for(users=users, urgency=urgency_of(incident), now=now)
    reachable = [user for user in users if targets[user.pk]]
    links = action_links_issue_for(incident=incident, users=reachable, now=now)
    return {
        user.pk: deliveries_write(
            purpose=Purpose.PAGE,
            message_kind="page",
            event_key=page_event_key(
                incident_id=incident.pk, event_key=event_key, user_id=user.pk
            ),
            targets=targets[user.pk],
            incident=incident,
            user=user,
            extra={
                "links": {
                    "acknowledge": links[user.pk].acknowledge_url,
                    "resolve": links[user.pk].resolve_url,
                },
                "sms_code": links[user.pk].code,
            },
            stops_on_ack=stops_on_ack,
            now=now,
        )
        if user.pk in links
        else []
        for user in users
    }


def channels_for(*, incident: Incident, message_kind: str) -> list[Channel]:
    """Return the enabled channels of the incident's service and team."""
    service = incident.service
    channels = Channel.objects.filter(
        Q(service=service) | Q(team_id=service.team_id), enabled=True
    ).filter(**{CHANNEL_FLAGS[message_kind]: True})
    channels = channels.filter(
        Q(minimum_severity__isnull=True)
        | Q(minimum_severity__rank__gte=incident.severity.rank)
    )
    return list(channels.order_by("id"))


def notify(
    *,
    incident: Incident,
    message_kind: str,
    event_key: str,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> list[Delivery]:
    """Tell the incident's channels and internal subscribers: initial
    notification, update, resolution.

    `event_key` names the incident event (a status update); each channel and
    subscriber hears of it once.
    """
    if message_kind not in CHANNEL_FLAGS:
        raise ValueError(f"channels are told of {', '.join(CHANNEL_FLAGS)}")
    targets = [
        Target(kind=c.kind, address=c.address, channel=c)
        for c in channels_for(incident=incident, message_kind=message_kind)
    ]
    own = {t.channel.pk for t in targets if t.channel is not None}
    targets += [
        t
        for t in subscriber_targets(incident=incident, message_kind=message_kind)
        if t.channel is None or t.channel.pk not in own
    ]
    return deliveries_write(
        purpose=Purpose.BROADCAST,
        message_kind=message_kind,
        event_key=f"{message_kind}:{event_key}",
        targets=targets,
        incident=incident,
        extra=extra,
        now=now,
    )


def person_notify(
    *,
    user: User,
    event_key: str,
    subject: str,
    text: str,
    incident: Incident | None = None,
    calendar: str = "",
    purpose: str = Purpose.FOLLOW_UP,
    now: datetime | None = None,
) -> list[Delivery]:
    """E-mail `user` a notice (a reminder, an invitation, a digest, a report).

    It goes to each of the user's verified e-mail addresses, once per
    `event_key` however often this is called. Return the deliveries; an empty
    list means the user has no verified e-mail, which the caller records.
    """
    methods = ContactMethod.objects.filter(
        user=user, kind=Kind.EMAIL, verified_at__isnull=False
    ).order_by("id")
    extra: dict[str, Any] = {"notice": {"subject": subject, "text": text}}
    if calendar:
        extra["calendar"] = calendar
    return deliveries_write(
        purpose=purpose,
        message_kind="notice",
        event_key=f"notice:{event_key}:u{user.pk}",
        targets=[
            Target(kind=method.kind, address=method.address, contact_method=method)
            for method in methods
        ],
        incident=incident,
        user=user,
        extra=extra,
        now=now,
    )
