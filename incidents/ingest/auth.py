"""Integration keys: found by hash, compared in constant time."""

from __future__ import annotations

import hmac
import time

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from incidents.models import Integration


def integration_for_key(key: str) -> Integration | None:
    """Return the enabled integration this key opens, or None after a delay.

    The delay is the same for every unknown key, so that guessing keys is
    slow and timing says nothing about how close a guess came.
    """
    digest = Integration.hash_key(key)
    found = (
        Integration.objects.select_related("service")
        .filter(enabled=True)
        .filter(
            Q(key_hash=digest)
            | Q(previous_key_hash=digest, previous_key_expires_at__gt=timezone.now())
        )
        .first()
    )
    if found is not None and (
        hmac.compare_digest(found.key_hash, digest)
        or hmac.compare_digest(found.previous_key_hash or "", digest)
    ):
        return found
    time.sleep(settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY)
    return None
