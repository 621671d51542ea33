"""Per-integration quota on new alerts, refused with 429 as PagerDuty does.

A sender that opens more than VIGIL_INGEST_NEW_ALERTS_PER_MINUTE new alerts
(distinct dedup keys) in a minute is answered 429 with Retry-After, and what
it sent is not stored. Events that fold into an alert already open or already
counted this minute are never counted nor refused, so that a storm on one key
stays as cheap as before: the first trigger of a key in a minute records the
key (`IngestQuotaKey`), and every later one is stored by the same single
INSERT as without a quota, on the condition that the key is recorded.

Counting is exact under concurrent requests: the key's row is inserted and
the minute's counter raised (only while under the quota) in the transaction
that stores the event. A second request with the same new key waits on the
first one's key row and then finds it; two with different keys queue on the
counter row, and the one that would pass the quota gets no row back. A 429
rolls the transaction back, key row and event included. So an integration's
new alerts are admitted one at a time (the counter row is raised last, just
before the commit, to hold it briefly); its storms, and other integrations,
do not wait for them.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from incidents.exceptions import IngestQuotaExceededError
from incidents.ingest.signals import TRIGGER
from incidents.models import (
    Alert,
    AlertEvent,
    IngestQuotaKey,
    IngestQuotaWindow,
    Integration,
)
from incidents.services.alert_events import (
    alert_event_record,
    alert_event_record_for_key,
)

WINDOW = timedelta(minutes=1)
# Actions that may open an alert: a PagerDuty or generic trigger, and an
# Alertmanager group's "firing" notification.
OPENING_ACTIONS = frozenset({TRIGGER, "firing"})

_KEYS = IngestQuotaKey._meta.db_table
_WINDOWS = IngestQuotaWindow._meta.db_table
_ALERTS = Alert._meta.db_table
# A condition on the integration row `i` of the storing INSERT.
_COUNTED = (
    f"EXISTS (SELECT 1 FROM {_KEYS} k WHERE k.integration_id = i.id"  # noqa: S608
    " AND k.window_start = %s AND k.dedup_key = %s)"
)
_COUNTED_SELECT = (
    f"SELECT 1 FROM {_KEYS} WHERE integration_id = %s"  # noqa: S608
    " AND window_start = %s AND dedup_key = %s"
)
# The key's row for the minute, answering (when it is new) whether the key
# already has an open alert, or its group one (an Alertmanager event's key
# is the hash of its group, as each of the group's alerts' group_key is):
# two lookups rather than one OR, each on its own index.
_INSERT_KEY = (
    f"INSERT INTO {_KEYS} (integration_id, window_start, dedup_key)"  # noqa: S608
    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING"
    f" EXISTS (SELECT 1 FROM {_ALERTS} WHERE integration_id = %s"
    " AND dedup_key = %s AND status <> 'resolved')"
    f" OR EXISTS (SELECT 1 FROM {_ALERTS} WHERE integration_id = %s"
    " AND group_key = %s AND status <> 'resolved')"
)
_COUNT = (
    f"INSERT INTO {_WINDOWS} (integration_id, window_start, new_alerts)"  # noqa: S608
    " VALUES (%s, %s, 1) ON CONFLICT (integration_id, window_start)"
    f" DO UPDATE SET new_alerts = {_WINDOWS}.new_alerts + 1"
    f" WHERE {_WINDOWS}.new_alerts < %s RETURNING new_alerts"
)


def ingest_quota_applies(action: str) -> bool:
    """Return whether an event with this action is subject to the quota."""
    return settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE > 0 and (
        action in OPENING_ACTIONS
    )


def alert_event_record_for_counted_key(
    *, key_hash: str, kind: str, source: str, action: str, dedup_key: str, payload: Any
) -> AlertEvent | None:
    """Store the event in one statement if its integration's key opens it and
    its dedup key was already admitted this minute (a storm's case); else None,
    storing nothing: then the caller goes through `alert_event_record_within_quota`.
    """
    return alert_event_record_for_key(
        key_hash=key_hash,
        kind=kind,
        source=source,
        action=action,
        dedup_key=dedup_key,
        payload=payload,
        condition=(_COUNTED, [_minute(timezone.now()), dedup_key]),
    )


def alert_event_record_within_quota(
    *,
    integration: Integration,
    source: str,
    action: str,
    dedup_key: str,
    payload: Any,
    looked: bool = False,
) -> AlertEvent:
    """Store the event, unless it opens a new alert past the integration's
    quota for this minute: then raise IngestQuotaExceededError, storing nothing.

    `looked`: the caller has just found the key not admitted this minute
    (`alert_event_record_for_counted_key` storing nothing), so the same
    lookup is not made again.
    """
    fields = {
        "source": source,
        "action": action,
        "dedup_key": dedup_key,
        "payload": payload,
    }
    if not ingest_quota_applies(action):
        return alert_event_record(integration=integration, **fields)
    now = timezone.now()
    window = _minute(now)
    if not looked and _fetch(_COUNTED_SELECT, [integration.pk, window, dedup_key]):
        return alert_event_record(integration=integration, **fields)
    with transaction.atomic():
        new = _key_is_new(integration, window=window, source=source, key=dedup_key)
        event = alert_event_record(integration=integration, **fields)
        if new:
            # Last: every new alert of the integration waits for the
            # minute's counter row, held from here to the commit.
            _count(integration, window=window, now=now)
        return event


def _key_is_new(
    integration: Integration, *, window: Any, source: str, key: str
) -> bool:
    """Record the key for this minute; return whether it opens a new alert
    (neither admitted this minute by a concurrent request nor open)."""
    group = (
        key
        if source == AlertEvent.Source.ALERTMANAGER
        else hashlib.sha256(key.encode()).hexdigest()
    )
    pk = integration.pk
    inserted = _fetch(_INSERT_KEY, [pk, window, key, pk, key, pk, group])
    # None: a concurrent request admitted the key and committed.
    return inserted is not None and not inserted[0]


def _count(integration: Integration, *, window: Any, now: datetime) -> None:
    """Count a new alert in the minute; raise IngestQuotaExceededError
    if the count is at the quota already."""
    limit = settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE
    counted = _fetch(_COUNT, [integration.pk, window, limit])
    if counted is None:
        ends = now.replace(second=0, microsecond=0) + WINDOW
        retry_after = max(1, math.ceil((ends - now).total_seconds()))
        raise IngestQuotaExceededError(
            f"more than {limit} new alerts this minute from this integration; "
            f"retry in {retry_after} s",
            retry_after=retry_after,
        )
    if counted[0] == 1:  # the minute's first: forget the minutes before it
        with connection.cursor() as cursor:
            for table in (_KEYS, _WINDOWS):
                cursor.execute(
                    f"DELETE FROM {table} WHERE integration_id = %s"  # noqa: S608
                    " AND window_start < %s",
                    [integration.pk, window],
                )


def _minute(now: datetime) -> Any:
    """Return the minute `now` is in, as the database stores a datetime."""
    return connection.ops.adapt_datetimefield_value(
        now.replace(second=0, microsecond=0)
    )


def _fetch(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    # Raw SQL: these run on ingest requests (see incidents.ingest.auth).
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row
