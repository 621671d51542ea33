"""Per-integration quota on new alerts, refused with 429 as PagerDuty does.

A sender that opens more than VIGIL_INGEST_NEW_ALERTS_PER_MINUTE new alerts
(distinct dedup keys) in a minute is answered 429 with Retry-After, and what
it sent is not stored. Events that fold into an alert already open or already
counted this minute are never counted nor refused, so that a storm on one key
stays as cheap as before: the first trigger of a key in a minute records the
key (`IngestQuotaKey`), and every later one is stored by the same single
INSERT as without a quota, on the condition that the key is recorded.

Counting is exact under concurrent requests: the key's row is inserted and
the minute's counter raised (only for a key that opens a new alert) in a
transaction of their own, committed just before the event is stored. A
second request with the same new key waits on the first one's key row and
then finds it; two with different keys queue on the counter row, and the
one that would pass the quota breaks the counter's CHECK constraint, which
rolls its transaction back, key row included, and stores no event. On
PostgreSQL that transaction is one statement, so the counter row is held
for no round trip to Vigil, and its commit does not wait for the disk (the
event's commit right after it does, and covers it): an integration's new
alerts are admitted one at a time, but each for the time the database takes
to run one statement, and their events' commits share disk flushes as
storms and other integrations' do.
"""

from __future__ import annotations

import hashlib
import math
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.db import prepared_cursor
from incidents.exceptions import IngestQuotaExceededError
from incidents.ingest.signals import TRIGGER
from incidents.models import (
    Alert,
    AlertEvent,
    IngestQuotaKey,
    IngestQuotaWindow,
    Integration,
)
from incidents.models.quotas import WITHIN_QUOTA
from incidents.services.alert_events import (
    KEY_CONDITION,
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
_INTEGRATIONS = Integration._meta.db_table
# A condition on the integration row `i` of the storing INSERT.
_COUNTED = (
    f"EXISTS (SELECT 1 FROM {_KEYS} k WHERE k.integration_id = i.id"  # noqa: S608
    " AND k.window_start = %s AND k.dedup_key = %s)"
)
_COUNTED_SELECT = (
    f"SELECT 1 FROM {_KEYS} WHERE integration_id = %s"  # noqa: S608
    " AND window_start = %s AND dedup_key = %s"
)
# Whether the key's row just inserted opens a new alert: no alert of its key
# is open, nor one of its group (an Alertmanager event's key is the hash of
# its group, as each of the group's alerts' group_key is): two lookups
# rather than one OR, each on its own index.
_OPENS = (
    f"NOT (EXISTS (SELECT 1 FROM {_ALERTS} a"  # noqa: S608
    f" WHERE a.integration_id = {_KEYS}.integration_id"
    f" AND a.dedup_key = {_KEYS}.dedup_key AND a.status <> 'resolved')"
    f" OR EXISTS (SELECT 1 FROM {_ALERTS} a"
    f" WHERE a.integration_id = {_KEYS}.integration_id"
    " AND a.group_key = %s AND a.status <> 'resolved'))"
)
# The minute's count, one more; past the quota the row's CHECK refuses it.
_COUNT_CONFLICT = (
    " ON CONFLICT (integration_id, window_start) DO UPDATE"
    f" SET new_alerts = {_WINDOWS}.new_alerts + 1, allowed = EXCLUDED.allowed"
    " RETURNING new_alerts"
)
# PostgreSQL: the whole admission, one statement and so one transaction,
# whose commit does not wait for the disk (the first parameter, 'off'; NULL
# inside a caller's transaction, whose commit is the caller's). A
# row (the minute's count, or NULL when the key opens no new alert) if an
# integration matches `{where}`.
_ADMIT = (
    "WITH i AS (SELECT i.id, set_config('synchronous_commit',"  # noqa: S608
    " coalesce(%s, current_setting('synchronous_commit')), true)"
    f" FROM {_INTEGRATIONS} i WHERE {{where}}),"
    f" k AS (INSERT INTO {_KEYS} (integration_id, window_start, dedup_key)"
    " SELECT id, %s, %s FROM i ON CONFLICT DO NOTHING"
    f" RETURNING integration_id, {_OPENS} AS opens),"
    f" w AS (INSERT INTO {_WINDOWS} (integration_id, window_start, new_alerts, allowed)"
    f" SELECT integration_id, %s, 1, %s FROM k WHERE opens{_COUNT_CONFLICT})"
    " SELECT (SELECT new_alerts FROM w) FROM i"
)
# Elsewhere (SQLite): the same three steps, one statement each.
_FIND = f"SELECT i.id FROM {_INTEGRATIONS} i WHERE {{where}}"  # noqa: S608
_INSERT_KEY = (
    f"INSERT INTO {_KEYS} (integration_id, window_start, dedup_key)"  # noqa: S608
    f" VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_OPENS}"
)
_COUNT = (
    f"INSERT INTO {_WINDOWS} (integration_id, window_start, new_alerts, allowed)"  # noqa: S608
    f" VALUES (%s, %s, 1, %s){_COUNT_CONFLICT}"
)
# Which integration admits a key: a known one, or the one the storing INSERT
# would find by its current key.
_BY_ID = "i.id = %s"


def ingest_quota_applies(action: str) -> bool:
    """Return whether an event with this action is subject to the quota."""
    return settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE > 0 and (
        action in OPENING_ACTIONS
    )


def alert_event_record_for_key_within_quota(
    *, key_hash: str, kind: str, source: str, action: str, dedup_key: str, payload: Any
) -> AlertEvent | None:
    """Store the event for the enabled `kind` integration whose current key
    hashes to `key_hash`, under its quota: in one statement when its dedup
    key was already admitted this minute (a storm's case), else in three
    (the storing INSERT finding nothing, the key's admission, the event's
    INSERT). None, storing nothing, if there is no such integration: then
    the caller looks the key up as usual and goes through
    `alert_event_record_within_quota`.

    Raise IngestQuotaExceededError, storing nothing, past the quota.
    """
    event = {
        "key_hash": key_hash,
        "kind": kind,
        "source": source,
        "action": action,
        "dedup_key": dedup_key,
        "payload": payload,
    }
    counted = alert_event_record_for_key(
        **event, condition=(_COUNTED, [_minute(timezone.now()), dedup_key])
    )
    if counted is not None:
        return counted
    if not _admit(KEY_CONDITION, [key_hash, kind], source=source, key=dedup_key):
        return None
    return alert_event_record_for_key(**event)


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
    (`alert_event_record_for_key_within_quota` storing nothing), so the
    same lookup is not made again.
    """
    fields = {
        "source": source,
        "action": action,
        "dedup_key": dedup_key,
        "payload": payload,
    }
    if ingest_quota_applies(action) and (
        looked
        or not _fetch(
            _COUNTED_SELECT, [integration.pk, _minute(timezone.now()), dedup_key]
        )
    ):
        _admit(_BY_ID, [integration.pk], source=source, key=dedup_key)
    return alert_event_record(integration=integration, **fields)


def _admit(where: str, params: list[Any], *, source: str, key: str) -> bool:
    """Admit the key for this minute for the integration `where` finds,
    counting it if it opens a new alert, in a transaction of its own
    committed before the event is stored; return whether an integration
    matched. Raise IngestQuotaExceededError, recording nothing, if the count
    passes the quota.

    On PostgreSQL the transaction is one statement, and its commit does not
    wait for its WAL to reach the disk: the event's INSERT, committed next on
    the same connection, does, and flushes the admission's commit with it
    (WAL is written in order), so a stored event's admission is never lost.
    An admission whose event then fails to store (the database went away)
    stays counted: the sender retries the 503 and its key is admitted.
    """
    now = timezone.now()
    window = _minute(now)
    group = (
        key
        if source == AlertEvent.Source.ALERTMANAGER
        else hashlib.sha256(key.encode()).hexdigest()
    )
    limit = settings.VIGIL_INGEST_NEW_ALERTS_PER_MINUTE
    try:
        if connection.vendor == "postgresql":
            # Inside a caller's transaction (a test's), a savepoint of it.
            inside = connection.in_atomic_block
            durability = None if inside else "off"
            with transaction.atomic() if inside else nullcontext():
                row = _fetch(
                    _ADMIT.format(where=where),
                    [durability, *params, window, key, group, window, limit],
                )
            if row is None:
                return False
            (counted,) = row
        else:
            with transaction.atomic(durable=True):
                pk = _value(_FIND.format(where=where), params)
                if pk is None:
                    return False
                # None: a concurrent request admitted the key and committed.
                inserted = _fetch(_INSERT_KEY, [pk, window, key, group])
                opens = inserted is not None and inserted[0]
                counted = _value(_COUNT, [pk, window, limit]) if opens else None
    except IntegrityError as error:
        if WITHIN_QUOTA not in str(error):
            raise
        ends = now.replace(second=0, microsecond=0) + WINDOW
        retry_after = max(1, math.ceil((ends - now).total_seconds()))
        raise IngestQuotaExceededError(
            f"more than {limit} new alerts this minute from this integration; "
            f"retry in {retry_after} s",
            retry_after=retry_after,
        ) from None
    if counted == 1:  # the minute's first: forget the minutes before it
        _forget_before(where, params, window)
    return True


def _forget_before(where: str, params: list[Any], window: Any) -> None:
    """Delete the keys and counts of the integration's earlier minutes."""
    with connection.cursor() as cursor:
        for table in (_KEYS, _WINDOWS):
            cursor.execute(
                f"DELETE FROM {table} WHERE window_start < %s"  # noqa: S608
                f" AND integration_id IN (SELECT i.id FROM {_INTEGRATIONS} i"
                f" WHERE {where})",
                [window, *params],
            )


def _minute(now: datetime) -> Any:
    """Return the minute `now` is in, as the database stores a datetime."""
    return connection.ops.adapt_datetimefield_value(
        now.replace(second=0, microsecond=0)
    )


def _value(sql: str, params: list[Any]) -> Any:
    """The first column of the statement's row, or None without one."""
    row = _fetch(sql, params)
    return None if row is None else row[0]


def _fetch(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    # Raw SQL: these run on ingest requests (see incidents.ingest.auth).
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row
