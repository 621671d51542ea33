"""The first run's way of reaching its admin: e-mail to the outbox folder."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from notifications.models import ContactMethod, Kind

OUTBOX_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def demo_outbox_email_create(*, user: User) -> ContactMethod | None:
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
