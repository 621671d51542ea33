"""Acknowledge and resolve from the message itself.

A link carries a signed token (Django's signing, salted for this use) naming
an `ActionLink` row and its random nonce; the row makes it expiring and
single-use. An SMS page carries a short reply code instead ("ACK 4821"),
which only works from the phone number of the user it was sent to.
"""

from __future__ import annotations

import functools
import math
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from notifications.exceptions import ActionLinkError, NotificationLimitError
from notifications.models import ActionLink, ContactMethod, Kind, ReplyFailure

SALT = "vigil.notifications.action-link"
Action = ActionLink.Action


@dataclass(frozen=True)
class IssuedLinks:
    acknowledge_url: str
    resolve_url: str
    code: str


def action_links_issue(
    *, incident: Incident, user: User, now: datetime | None = None
) -> IssuedLinks:
    """Return the user's live acknowledge/resolve links for the incident.

    The same links and code go into every message of one page, so that the
    SMS code a responder got by text also works after the email arrived.
    """
    return action_links_issue_for(incident=incident, users=[user], now=now)[user.pk]


def action_links_issue_for(
    *, incident: Incident, users: Iterable[User], now: datetime | None = None
) -> dict[int, IssuedLinks]:
    """Return each user's live links for the incident (`action_links_issue`),
    by user id, read and issued for all of them together: a level paging
    several people costs the statements of one."""
    now = now or timezone.now()
    return {
        user_id: IssuedLinks(
            acknowledge_url=_url(links[Action.ACKNOWLEDGE]),
            resolve_url=_url(links[Action.RESOLVE]),
            code=links[Action.ACKNOWLEDGE].code,
        )
        for user_id, links in _live_links(
            incident=incident, users=list(users), now=now
        ).items()
    }


def _live_links(
    *, incident: Incident, users: list[User], now: datetime
) -> dict[int, dict[str, ActionLink]]:
    """Return each user's live link of each action, issuing those that are
    missing.

    One read for all of them, and one write: every page runs this, once per
    level paged.
    """
    by_id = {user.pk: user for user in users}
    live = _read_live(incident, list(by_id))
    expired = [
        link.pk
        for links in live.values()
        for link in links.values()
        if link.expires_at <= now
    ]
    if expired:  # retire them so that new ones may be live
        ActionLink.objects.filter(pk__in=expired, used_at__isnull=True).update(
            used_at=now, used_via="expired"
        )
        live = {
            user_id: {a: link for a, link in links.items() if link.pk not in expired}
            for user_id, links in live.items()
        }
    missing = {
        user_id: [action for action in Action.values if action not in links]
        for user_id, links in live.items()
    }
    missing = {user_id: actions for user_id, actions in missing.items() if actions}
    if not missing:
        return live
    codes = _free_codes([user_id for user_id in missing if not live[user_id]], now)
    expires_at = now + timedelta(hours=settings.VIGIL_ACTION_LINK_HOURS)
    try:
        with transaction.atomic():
            issued = ActionLink.objects.bulk_create(
                ActionLink(
                    incident=incident,
                    user=by_id[user_id],
                    action=action,
                    nonce=secrets.token_urlsafe(24),
                    code=codes.get(user_id) or next(iter(live[user_id].values())).code,
                    created_at=now,
                    expires_at=expires_at,
                )
                for user_id, actions in missing.items()
                for action in actions
            )
    except IntegrityError:  # issued concurrently by another page: use those
        if len(by_id) == 1:
            return _read_live(incident, list(by_id))
        # The write was all or nothing: issue them one person at a time.
        return {
            user_id: links
            for user in by_id.values()
            for user_id, links in _live_links(
                incident=incident, users=[user], now=now
            ).items()
        }
    for link in issued:
        live[link.user_id][link.action] = link
    return live


def _read_live(
    incident: Incident, user_ids: list[int]
) -> dict[int, dict[str, ActionLink]]:
    """Return the live (unused) links of each user, by user id and action."""
    live: dict[int, dict[str, ActionLink]] = {user_id: {} for user_id in user_ids}
    for link in ActionLink.objects.filter(
        incident=incident, user_id__in=user_ids, used_at__isnull=True
    ).order_by():  # one live link per action at most
        live[link.user_id][link.action] = link
    return live


def _free_codes(user_ids: list[int], now: datetime) -> dict[int, str]:
    """Return, for each user, a 4-digit code no live link of theirs uses."""
    if not user_ids:
        return {}
    taken: dict[int, set[str]] = {user_id: set() for user_id in user_ids}
    for user_id, code in (
        ActionLink.objects.filter(
            user_id__in=user_ids, used_at__isnull=True, expires_at__gt=now
        )
        .order_by()
        .values_list("user_id", "code")
    ):
        taken[user_id].add(code)
    return {user_id: _free_code(codes) for user_id, codes in taken.items()}


def _free_code(taken: set[str]) -> str:
    digits = 4 if len(taken) < 1000 else 6
    while True:
        code = "".join(secrets.choice("0123456789") for _ in range(digits))
        if code not in taken:
            return code


@functools.cache
def _respond_path() -> str:
    # reverse() costs a tenth of a millisecond; every person paged needs two
    # of these URLs. A token is URL-safe (base64, ':' and '.'), as reverse()
    # would leave it.
    return reverse("respond", kwargs={"token": "0"}).replace("/0/", "/{}/")


def _url(link: ActionLink) -> str:
    token = signing.dumps([link.pk, link.nonce], salt=SALT, compress=True)
    return f"{settings.VIGIL_BASE_URL}{_respond_path().format(token)}"


def action_link_get(*, token: str, now: datetime | None = None) -> ActionLink:
    """Return the live link a token names, or raise ActionLinkError."""
    try:
        link_id, nonce = signing.loads(token, salt=SALT)
    except (signing.BadSignature, TypeError, ValueError):
        raise ActionLinkError("this link is not valid") from None
    link = (
        ActionLink.objects.select_related("incident", "user").filter(pk=link_id).first()
    )
    if link is None or not secrets.compare_digest(str(nonce), link.nonce):
        raise ActionLinkError("this link is not valid")
    _check_usable(link, now or timezone.now())
    return link


def _check_usable(link: ActionLink, now: datetime) -> None:
    if link.used_at is not None:
        raise ActionLinkError(
            f"this link was already used ({link.used_via or 'used'} at "
            f"{timezone.localtime(link.used_at):%Y-%m-%d %H:%M})"
        )
    if link.expires_at <= now:
        raise ActionLinkError("this link has expired")


def action_link_use(*, link: ActionLink, via: str, now: datetime | None = None) -> None:
    """Spend the link (and its sibling code), or raise if someone else did.

    Call it inside the transaction that performs the action, so that a
    refused action leaves the link usable.
    """
    now = now or timezone.now()
    spent = ActionLink.objects.filter(pk=link.pk, used_at__isnull=True).update(
        used_at=now, used_via=via
    )
    if not spent:
        raise ActionLinkError("this link was already used")


def action_link_for_reply(
    *, phone: str, action: str, code: str, now: datetime | None = None
) -> ActionLink:
    """Return the live link an SMS reply names, or raise ActionLinkError.

    The reply must come from a verified SMS number of the link's user. A
    code that names no waiting page is counted against the number; with
    `VIGIL_SMS_REPLY_MAX_FAILURES` of them within the lockout, from it or
    from another number of the same user, every reply is refused
    (`NotificationLimitError`) until the lockout has passed. Call it outside
    a transaction that the refusal rolls back, so that a failure stays
    counted.
    """
    now = now or timezone.now()
    owners = sms_reply_guard(phone=phone, now=now)
    link = (
        ActionLink.objects.select_related("incident", "user")
        .filter(user_id__in=owners, action=action, code=code, used_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if link is None:
        sms_reply_failed(phone=phone, now=now)
        raise ActionLinkError(f"no page with code {code} is waiting for this number")
    _check_usable(link, now)
    return link


def sms_reply_guard(*, phone: str, now: datetime) -> QuerySet[Any]:
    """Return the users whose verified SMS number `phone` is, as a subquery;
    raise `NotificationLimitError` while the number, or its users' numbers,
    are locked out by wrong codes (acknowledge replies and contact-test
    confirmations count together)."""
    owners = ContactMethod.objects.filter(
        kind=Kind.SMS, address=phone, verified_at__isnull=False
    ).values("user_id")
    _check_not_locked_out(phone, owners, now)
    return owners


def sms_reply_failed(*, phone: str, now: datetime) -> None:
    """Count a reply from `phone` whose code named nothing waiting."""
    lockout = timedelta(minutes=settings.VIGIL_SMS_REPLY_LOCKOUT_MINUTES)
    ReplyFailure.objects.filter(phone=phone, at__lte=now - lockout).delete()
    ReplyFailure.objects.create(phone=phone, at=now)


def _check_not_locked_out(phone: str, owners: QuerySet[Any], now: datetime) -> None:
    """Refuse the reply while the number, or its user's numbers, are locked out."""
    lockout = timedelta(minutes=settings.VIGIL_SMS_REPLY_LOCKOUT_MINUTES)
    cap = settings.VIGIL_SMS_REPLY_MAX_FAILURES
    siblings = ContactMethod.objects.filter(
        kind=Kind.SMS, verified_at__isnull=False, user_id__in=owners
    ).values("address")
    failures = (
        ReplyFailure.objects.filter(Q(phone=phone) | Q(phone__in=siblings))
        .filter(at__gt=now - lockout)
        .order_by("-at")
        .values_list("at", flat=True)
    )
    recent = list(failures[:cap])
    if len(recent) < cap:
        return
    wait = math.ceil((recent[-1] + lockout - now).total_seconds() / 60)
    raise NotificationLimitError(
        f"too many wrong codes from this number; try again in {wait} min, "
        "or use the link in the message",
        retry_after=wait * 60,
    )
