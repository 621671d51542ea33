"""Integration keys: found by hash, compared in constant time."""

from __future__ import annotations

import hmac
import time

from django.conf import settings
from django.utils import timezone

from incidents.models import Integration

# Written out rather than built with the ORM: every ingest request runs the
# first, and building it cost more CPU than all the rest of the request's own
# work. Two simple lookups, not one OR, because PostgreSQL plans the OR for
# ten times as long as it takes to run either. Each key column is unique.
_TABLE = Integration._meta.db_table
_BY_KEY = f"SELECT * FROM {_TABLE} WHERE key_hash = %s AND enabled"  # noqa: S608
_BY_PREVIOUS_KEY = (
    f"SELECT * FROM {_TABLE} WHERE previous_key_hash = %s"  # noqa: S608
    " AND previous_key_expires_at > %s AND enabled"
)


def integration_for_key(key: str) -> Integration | None:
    """Return the enabled integration this key opens, or None after a delay.

    A key is its integration's current key or, until it expires, the one it
    had before its last rotation. The delay is the same for every unknown
    key, so that guessing keys is slow and timing says nothing about how
    close a guess came.
    """
    digest = Integration.hash_key(key)
    found = next(iter(Integration.objects.raw(_BY_KEY, [digest])), None)
    if found is not None and hmac.compare_digest(found.key_hash, digest):
        return found
    rows = Integration.objects.raw(_BY_PREVIOUS_KEY, [digest, timezone.now()])
    found = next(iter(rows), None)
    if found is not None and hmac.compare_digest(found.previous_key_hash or "", digest):
        return found
    time.sleep(settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY)
    return None
