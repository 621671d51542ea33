"""Storing a received event: the request path of every alert.

It runs on every accepted request, so its statements are written out in
SQL (an event's INSERT that also checks its integration key in one round
trip); the worker then applies stored events in batches
(incidents/services/alerts.py).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction

from config.db import prepared_cursor
from incidents.models import (
    AlertEvent,
    Integration,
    Service,
)

logger = logging.getLogger(__name__)


def alert_event_record(
    *,
    source: str,
    action: str,
    dedup_key: str,
    payload: Any,
    integration: Integration | None = None,
    service: Service | None = None,
    reported_by: User | None = None,
) -> AlertEvent:
    """Store a received event durably and have a worker process it.

    This is the request path's only write; `service` defaults to the
    integration's. After commit a worker is asked to process the event,
    unless an older event of the integration is still pending: whichever
    task applies that one goes on until none is left, so it applies this one
    too. If the broker cannot take the message, the row waits for the
    recovery sweep, so an accepted event is never lost.
    """
    if service is not None:
        service_id = service.pk
    elif integration is not None:
        service_id = integration.service_id
    else:
        raise ValueError("an event needs a service or an integration")
    event = AlertEvent(
        integration=integration,
        service_id=service_id,
        source=source,
        action=action,
        dedup_key=dedup_key,
        payload=payload,
        reported_by=reported_by,
    )
    if not connection.features.can_return_columns_from_insert:
        event.save(force_insert=True)
    else:
        with prepared_cursor() as cursor:
            cursor.execute(_INSERT, _insert_params(event))
            (event.pk,) = cursor.fetchone()
        _stored(event)
    transaction.on_commit(lambda: _ask_for_processing(event), robust=True)
    return event


def alert_event_record_for_key(
    *,
    key_hash: str,
    kind: str,
    source: str,
    action: str,
    dedup_key: str,
    payload: Any,
    condition: tuple[str, list[Any]] | None = None,
) -> AlertEvent | None:
    """Store an event for the enabled `kind` integration whose current key
    hashes to `key_hash`, in one statement; None if there is no such one.

    The ingest endpoints' fast path: the key is checked by the INSERT that
    stores the event (its integration and service read from the row the key
    finds), one round trip instead of a lookup and then the INSERT. On None
    the caller looks the key up as usual, to tell an unknown key (404, after
    the fixed delay) from a disabled integration, another kind's key or a
    previous key still in its overlap. (Also None, storing nothing, on a
    database that cannot return what it inserted: the usual path then.)
    `condition`, SQL on the integration row `i` and its parameters, is one
    more thing the row must satisfy (also None, storing nothing, if not).
    """
    if not connection.features.can_return_columns_from_insert:
        return None
    event = AlertEvent(
        source=source, action=action, dedup_key=dedup_key, payload=payload
    )
    with prepared_cursor() as cursor:
        params = [*_insert_params(event, skip=_FROM_INTEGRATION), key_hash, kind]
        sql = _INSERT_FOR_KEY
        if condition is not None:
            sql = f"{_INSERT_FOR_KEY_WHERE} AND {condition[0]}{_RETURNING_CLAUSE}"
            params += condition[1]
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    event.pk, event.integration_id, event.service_id = row
    _stored(event)
    transaction.on_commit(lambda: _ask_for_processing(event), robust=True)
    return event


# Every accepted request runs one of these INSERTs. Written out once here,
# they cost about a quarter less CPU than `save()`, which builds the same SQL
# each time. The second takes the integration and service from the row the
# key finds (the same lookup `incidents.ingest.auth` does: by hash, unique).
_EVENT_FIELDS = [f for f in AlertEvent._meta.concrete_fields if not f.primary_key]
_FROM_INTEGRATION = {"integration_id": "i.id", "service_id": "i.service_id"}
_quote = connection.ops.quote_name
_COLUMNS = ", ".join(_quote(f.column) for f in _EVENT_FIELDS)
_RETURNING = ", ".join(
    _quote(c) for c in (AlertEvent._meta.pk.column, *_FROM_INTEGRATION)
)
_INSERT = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(  # noqa: S608
    _quote(AlertEvent._meta.db_table),
    _COLUMNS,
    ", ".join(["%s"] * len(_EVENT_FIELDS)),
    _quote(AlertEvent._meta.pk.column),
)
# The integration row `i` a request's key opens: its current key, enabled,
# of the endpoint's kind (parameters: the key's hash, the kind).
KEY_CONDITION = "i.key_hash = %s AND i.enabled AND i.kind = %s"
_INSERT_FOR_KEY_WHERE = (
    "INSERT INTO {} ({}) SELECT {} FROM {} i WHERE "  # noqa: S608 - names from the models
    + KEY_CONDITION
).format(
    _quote(AlertEvent._meta.db_table),
    _COLUMNS,
    ", ".join(_FROM_INTEGRATION.get(f.column, "%s") for f in _EVENT_FIELDS),
    _quote(Integration._meta.db_table),
)
_RETURNING_CLAUSE = f" RETURNING {_RETURNING}"
_INSERT_FOR_KEY = _INSERT_FOR_KEY_WHERE + _RETURNING_CLAUSE


def _insert_params(event: AlertEvent, skip: Collection[str] = ()) -> list[Any]:
    """The INSERT's parameters, as `save()` would make them (AlertEvent has
    no save signals), but for the columns in `skip`."""
    return [
        field.get_db_prep_save(field.pre_save(event, True), connection)
        for field in _EVENT_FIELDS
        if field.column not in skip
    ]


def _stored(event: AlertEvent) -> None:
    event._state.adding = False
    event._state.db = connection.alias


def _ask_for_processing(event: AlertEvent) -> None:
    from incidents.tasks import enqueue_processing

    if event.integration_id is not None:
        try:
            if _pending_before(event):
                return
        except DatabaseError:
            logger.exception("could not look for pending events; enqueuing")
    enqueue_processing(event)


def _pending_before(event: AlertEvent) -> bool:
    """Return whether an older event of the same integration awaits processing.

    Run after the event committed. If so, the task that applies that older
    event commits after this moment and then looks again before it stops,
    so it finds this event: its own message would only wake a worker to
    find nothing. Older only, so that two events never count on each other.
    """
    with prepared_cursor() as cursor:
        cursor.execute(_PENDING_BEFORE, [event.integration_id, event.pk])
        row = cursor.fetchone()
    return row is not None


# Raw SQL: it runs on every accepted request, and the ORM takes several times
# longer to build it than PostgreSQL to answer it. Newest first: under a
# backlog the event just before this one is pending, the first entry of the
# partial index `alertevent_pending_idx` read, rather than after every
# processed event whose entry vacuum has not removed yet.
_PENDING_BEFORE = (
    f"SELECT 1 FROM {AlertEvent._meta.db_table} "  # noqa: S608 - no user input
    "WHERE integration_id = %s AND processed_at IS NULL AND id < %s"
    " ORDER BY id DESC LIMIT 1"
)
