"""Integration keys: taken from where each format's senders put them, found
by hash, compared in constant time."""

from __future__ import annotations

import hmac
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone

from config.accesslog import KEY_PARAMETER
from config.db import prepared_cursor
from incidents.ingest.signals import IngestFormat, InvalidEvent, KeyPlace, Refused
from incidents.models import Integration

# Every ingest request runs the first query, so it is written out and its row
# made an Integration by hand: the ORM took 1 ms of CPU to build the query and
# the model (`raw()` 0.25 ms, this 0.17 ms), more than the rest of the request's
# own work. Two simple lookups, not one OR, because PostgreSQL plans the OR for
# ten times as long as it takes to run either. Each key column is unique.
_FIELDS = Integration._meta.concrete_fields
_SELECT = "SELECT {} FROM {} WHERE ".format(  # noqa: S608 - names from the model
    ", ".join(connection.ops.quote_name(f.column) for f in _FIELDS),
    connection.ops.quote_name(Integration._meta.db_table),
)
_BY_KEY = _SELECT + "key_hash = %s AND enabled"
_BY_PREVIOUS_KEY = (
    _SELECT + "previous_key_hash = %s AND previous_key_expires_at > %s AND enabled"
)


def request_key(format_: IngestFormat, request: HttpRequest, body: Any = None) -> str:
    """Return the integration key of an ingest request of `format_`, from
    where its senders put it (`body` is the parsed JSON body where the key
    is in it), or refuse the request as that format's senders expect."""
    if format_.key_place is KeyPlace.ROUTING_KEY:
        if not isinstance(body, dict):
            raise InvalidEvent(["the event must be a JSON object"])
        key = body.get("routing_key")
        if not isinstance(key, str) or not key.strip():
            raise InvalidEvent(["'routing_key' is missing or blank"])
        return key
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    token = request.GET.get(KEY_PARAMETER, "")
    if token:
        return token
    raise Refused(401, "Missing integration key", [
        "send 'Authorization: Bearer <integration key>' or '?token=<integration key>'"
    ])  # fmt: skip


def integration_for_key(key: str) -> Integration | None:
    """Return the enabled integration this key opens, or None after a delay.

    A key is its integration's current key or, until it expires, the one it
    had before its last rotation. The delay is the same for every unknown
    key, so that guessing keys is slow and timing says nothing about how
    close a guess came.
    """
    digest = Integration.hash_key(key)
    found = _integration(_BY_KEY, [digest])
    if found is not None and hmac.compare_digest(found.key_hash, digest):
        return found
    found = _integration(_BY_PREVIOUS_KEY, [digest, timezone.now()])
    if found is not None and hmac.compare_digest(found.previous_key_hash or "", digest):
        return found
    time.sleep(settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY)
    return None


def _integration(sql: str, params: list[Any]) -> Integration | None:
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    # What the ORM does with a row: each field's conversion (JSON), then from_db.
    values = [
        field.from_db_value(value, None, connection)
        if hasattr(field, "from_db_value")
        else value
        for field, value in zip(_FIELDS, row, strict=True)
    ]
    return Integration.from_db(
        connection.alias, [field.attname for field in _FIELDS], values
    )
