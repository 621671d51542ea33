"""Contact methods (verified by a code), notification rules and channels."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from incidents.models import Service, SeverityLevel, Team
from notifications.exceptions import NotificationError, NotificationLimitError
from notifications.models import (
    CHANNEL_KINDS,
    Channel,
    ContactMethod,
    Delivery,
    Kind,
    NotificationRule,
    Urgency,
)
from notifications.services.deliveries import (
    OWNER_DELETED,
    delivery_write_to_method,
)
from notifications.transports import get_transport

CODE_VALID_FOR = timedelta(minutes=30)
RESEND_AFTER = timedelta(seconds=30)
MAX_CODE_FAILURES = 5
MAX_RULE_DELAY = timedelta(hours=24)
VERIFICATION_WINDOW = timedelta(hours=1)


CHANNEL_KIND_VALUES = [kind for kind, _label in CHANNEL_KINDS]


def _address(kind: str, address: str, kinds: list[str] | None = None) -> str:
    if kind not in (kinds or Kind.values):
        raise NotificationError(f"{kind!r} is not a kind of destination", field="kind")
    try:
        return get_transport(kind).validate_address(address.strip())
    except ValueError as error:
        raise NotificationError(str(error), field="address") from None


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _secret_for(kind: str) -> str:
    return secrets.token_hex(32) if kind == Kind.WEBHOOK else ""


def _lock_user(user: User) -> None:
    """Take the user's row lock: caps are counted one request at a time."""
    User.objects.select_for_update().filter(pk=user.pk).first()


@transaction.atomic
def contact_method_create(
    *, user: User, kind: str, address: str, label: str = ""
) -> ContactMethod:
    """Add a way to reach `user` and send it a verification code.

    Refuse a new method while the user has the most unverified ones allowed
    (`VIGIL_MAX_UNVERIFIED_CONTACT_METHODS`): each one sends codes to an
    address nobody has shown to be theirs.
    """
    address = _address(kind, address)
    _lock_user(user)
    cap = settings.VIGIL_MAX_UNVERIFIED_CONTACT_METHODS
    if user.contact_methods.filter(verified_at__isnull=True).count() >= cap:
        raise NotificationError(
            f"you have {cap} contact methods waiting for their code; verify "
            "or remove one before adding another",
            field="address",
        )
    try:
        with transaction.atomic():
            method = ContactMethod.objects.create(
                user=user,
                kind=kind,
                address=address,
                label=label,
                secret=_secret_for(kind),
            )
    except IntegrityError:
        raise NotificationError(
            f"{user} already has this {kind} contact method", field="address"
        ) from None
    contact_method_send_verification(contact_method=method)
    return method


OUTBOX_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def contact_method_create_outbox_email(*, user: User) -> ContactMethod | None:
    """Give `user` an e-mail contact method that needs no code, while mail
    is written to the outbox folder instead of being sent (no EMAIL_HOST).

    Nothing leaves the machine then, so there is no address to prove, and
    the first run's pages and drills reach somebody. With mail sent for real
    nothing is added (None): an address is verified by its code.
    """
    if settings.EMAIL_BACKEND != OUTBOX_BACKEND:
        return None
    method, _ = ContactMethod.objects.get_or_create(
        user=user,
        kind=Kind.EMAIL,
        address=user.email,
        defaults={"label": "Outbox (first run)", "verified_at": timezone.now()},
    )
    return method


@transaction.atomic
def contact_method_send_verification(
    *, contact_method: ContactMethod, now: datetime | None = None
) -> Delivery:
    """Send a fresh 6-digit code to the method; it proves the address works.

    A user sends at most `VIGIL_VERIFICATION_SENDS_PER_HOUR` codes in any
    hour, to all their methods together (deleted ones included).
    """
    now = now or timezone.now()
    _lock_user(contact_method.user)
    method = ContactMethod.objects.select_for_update().get(pk=contact_method.pk)
    sent = method.verification_sent_at
    if sent is not None and now - sent < RESEND_AFTER:
        raise NotificationError(
            "a code was sent less than 30 seconds ago; wait for it", field="address"
        )
    _check_verification_sends(method.user, now)
    code = f"{secrets.randbelow(10**6):06d}"
    method.verification_code_hash = _hash(code)
    method.verification_sent_at = now
    method.verification_failures = 0
    method.save()
    return delivery_write_to_method(
        contact_method=method,
        purpose=Delivery.Purpose.VERIFICATION,
        message_kind="verification",
        event_key=f"verify:{method.pk}:{now.timestamp():.0f}",
        extra={"code": code},
        now=now,
    )


@transaction.atomic
def contact_method_delete(
    *, contact_method: ContactMethod, now: datetime | None = None
) -> None:
    """Remove the method and stop what it has not yet been sent.

    Its pending deliveries are cancelled, with the reason, before the row
    goes: the delivery log keeps them (their method becomes empty), and a
    delivery left pending would keep retrying to an address its owner took
    back. One the worker is sending now is cancelled at its next claim.
    """
    now = now or timezone.now()
    Delivery.objects.filter(
        contact_method=contact_method, status=Delivery.Status.PENDING
    ).update(status=Delivery.Status.CANCELLED, finished_at=now, error=OWNER_DELETED)
    contact_method.delete()


def _check_verification_sends(user: User, now: datetime) -> None:
    cap = settings.VIGIL_VERIFICATION_SENDS_PER_HOUR
    recent = Delivery.objects.filter(
        user=user,
        purpose=Delivery.Purpose.VERIFICATION,
        created_at__gt=now - VERIFICATION_WINDOW,
    ).order_by("-created_at")
    times = list(recent.values_list("created_at", flat=True)[:cap])
    if len(times) >= cap:
        wait = math.ceil((times[-1] + VERIFICATION_WINDOW - now).total_seconds())
        raise NotificationLimitError(
            f"at most {cap} verification codes an hour; try again in "
            f"{math.ceil(wait / 60)} min",
            field="address",
            retry_after=wait,
        )


def contact_method_verify(
    *, contact_method: ContactMethod, code: str, now: datetime | None = None
) -> ContactMethod:
    """Mark the method verified if `code` is the one last sent to it.

    Not one transaction: a wrong code must stay counted when it is refused.
    """
    now = now or timezone.now()
    method = ContactMethod.objects.get(pk=contact_method.pk)
    if method.verified_at is not None:
        return method
    sent = method.verification_sent_at
    if not method.verification_code_hash or sent is None:
        raise NotificationError("no code was sent; ask for one first", field="code")
    if method.verification_failures >= MAX_CODE_FAILURES:
        raise NotificationError("too many wrong codes; ask for a new one", field="code")
    if now - sent > CODE_VALID_FOR:
        raise NotificationError("the code has expired; ask for a new one", field="code")
    current = ContactMethod.objects.filter(
        pk=method.pk, verification_code_hash=method.verification_code_hash
    )
    if not secrets.compare_digest(_hash(code.strip()), method.verification_code_hash):
        current.update(verification_failures=F("verification_failures") + 1)
        raise NotificationError("that code is not right", field="code")
    current.update(verified_at=now, verification_code_hash="")
    method.refresh_from_db()
    return method


@transaction.atomic
def contact_method_send_test(
    *, contact_method: ContactMethod, now: datetime | None = None
) -> Delivery:
    """Send a test message to a verified method (SOP: test contact methods)."""
    now = now or timezone.now()
    if contact_method.verified_at is None:
        raise NotificationError("verify the contact method first", field="code")
    return delivery_write_to_method(
        contact_method=contact_method,
        purpose=Delivery.Purpose.TEST,
        message_kind="test",
        event_key=f"test:{contact_method.pk}:{now.timestamp():.3f}",
        now=now,
    )


def notification_rule_create(
    *, user: User, contact_method: ContactMethod, urgency: str, delay: timedelta
) -> NotificationRule:
    """Reach `user` on `contact_method` `delay` after a page of `urgency` starts."""
    if contact_method.user_id != user.pk:
        raise NotificationError(
            "a rule uses one of the user's own contact methods", field="contact_method"
        )
    if urgency not in Urgency.values:
        raise NotificationError(f"{urgency!r} is not an urgency", field="urgency")
    if not timedelta(0) <= delay <= MAX_RULE_DELAY:
        raise NotificationError("delay is between 0 and 24 hours", field="delay")
    rule, created = NotificationRule.objects.get_or_create(
        user=user, contact_method=contact_method, urgency=urgency, delay=delay
    )
    if not created:
        raise NotificationError("that rule exists already", field="delay")
    return rule


def channel_create(
    *,
    name: str,
    kind: str,
    address: str,
    team: Team | None = None,
    service: Service | None = None,
    minimum_severity: SeverityLevel | None = None,
    **flags: bool,
) -> Channel:
    """Give a team (all its services) or one service a broadcast channel."""
    if (team is None) == (service is None):
        raise NotificationError(
            "a channel belongs to a team or to a service (one of them)", field="team"
        )
    return Channel.objects.create(
        name=name,
        kind=kind,
        address=_address(kind, address, CHANNEL_KIND_VALUES),
        secret=_secret_for(kind),
        team=team,
        service=service,
        minimum_severity=minimum_severity,
        **flags,
    )


def channel_update(*, channel: Channel, **changes: Any) -> Channel:
    """Change a channel's name, address, severity floor or event flags."""
    kind = changes.pop("kind", channel.kind)
    if "address" in changes or kind != channel.kind:
        address = changes.pop("address", channel.address)
        channel.address = _address(kind, address, CHANNEL_KIND_VALUES)
    if kind != channel.kind:
        channel.kind, channel.secret = kind, _secret_for(kind)
    for name, value in changes.items():
        setattr(channel, name, value)
    if (channel.team_id is None) == (channel.service_id is None):
        raise NotificationError(
            "a channel belongs to a team or to a service (one of them)", field="team"
        )
    channel.save()
    return channel
