"""The statements that claim, close and mark delivery rows, written out once.

Every delivery runs them, and building them with the ORM took most of a
delivery's CPU time (and the claim took two statements where one does).
Names come from the models; values are always parameters.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from django.db import connection

from incidents.selectors import incident_status_sql
from notifications.models import Delivery

S = Delivery.Status
# What sending reads of a delivery, in the one query that loads a batch.
LOADED_WITH = (
    "incident__severity",
    "incident__service__team",
    "user",
    "contact_method",
    "channel",
    "subscriber",
)

_FIELDS = {f.name: f for f in Delivery._meta.concrete_fields}
_D = {name: connection.ops.quote_name(f.column) for name, f in _FIELDS.items()}
_DELIVERIES = connection.ops.quote_name(Delivery._meta.db_table)
_CLAIMING = (
    f"UPDATE {_DELIVERIES} SET"  # noqa: S608 - names from the model
    f" {_D['status']} = %s, {_D['claimed_at']} = %s,"
    f" {_D['attempts']} = {_D['attempts']} + 1"
)
_CLAIMABLE = f"{_D['status']} = %s AND {_D['due_at']} <= %s"
# The incident's status, read in the claim itself (incidents' selector).
_INCIDENT_STATUS = incident_status_sql(incident_id=f"{_DELIVERIES}.{_D['incident']}")
# One delivery: what the row holds once claimed, its incident's status too.
_CLAIM_ONE = (
    f"{_CLAIMING} WHERE {_D['id']} = %s AND {_CLAIMABLE}"
    f" RETURNING {_D['attempts']}, {_D['stops_on_ack']}, {_D['notes']},"
    f" {_INCIDENT_STATUS}"
)


def db_value(name: str, value: Any) -> Any:
    """Return `value` as the database takes it for the delivery field `name`."""
    return _FIELDS[name].get_db_prep_save(value, connection)


def claim_one(delivery_id: int, now: datetime) -> tuple[Any, ...] | None:
    """Claim one pending, due delivery, or return None if it is not there.

    Return what the claimed row holds: attempts, stops_on_ack, notes, and its
    incident's status.
    """
    at = db_value("claimed_at", now)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_ONE, [S.SENDING, at, delivery_id, S.PENDING, at])
        row = cursor.fetchone()
    return None if row is None else tuple(row)


def claim_several(delivery_ids: list[int], now: datetime) -> list[tuple[Any, ...]]:
    """Claim those of the deliveries that are pending and due, in one update.

    Return (id, attempts, notes) of each claimed.
    """
    at = db_value("claimed_at", now)
    sql = (
        f"{_CLAIMING} WHERE {_several(len(delivery_ids), _CLAIMABLE)}"
        f" RETURNING {_D['id']}, {_D['attempts']}, {_D['notes']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [S.SENDING, at, *delivery_ids, S.PENDING, at])
        return [tuple(row) for row in cursor.fetchall()]


def update_claimed(delivery: Delivery, **fields: Any) -> bool:
    """Write `fields` to a claimed row, unless the recovery sweep took it back.

    Return whether it was still this claim's.
    """
    names = tuple(sorted(fields))
    params = [db_value(name, fields[name]) for name in names]
    params += [delivery.pk, S.SENDING, db_value("claimed_at", delivery.claimed_at)]
    with connection.cursor() as cursor:
        cursor.execute(_update_claimed(names), params)
        return bool(cursor.rowcount)


@functools.cache
def _update_claimed(names: tuple[str, ...]) -> str:
    sets = ", ".join(f"{_D[name]} = %s" for name in names)
    return (
        f"UPDATE {_DELIVERIES} SET {sets}"  # noqa: S608 - names from the model
        f" WHERE {_D['id']} = %s AND {_D['status']} = %s AND {_D['claimed_at']} = %s"
    )


def mark_reported(delivery_ids: list[int]) -> set[int]:
    """Mark the deliveries whose report is due as reported; return those ids."""
    due = f"{_D['report_due']} = %s"
    sql = (
        f"UPDATE {_DELIVERIES} SET {due}"  # noqa: S608 - names from the model
        f" WHERE {_several(len(delivery_ids), due)} RETURNING {_D['id']}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [False, *delivery_ids, True])
        return {pk for (pk,) in cursor.fetchall()}


def _several(count: int, condition: str) -> str:
    """Return a WHERE clause for those of `count` ids whose rows meet `condition`.

    Where the database can, it locks them in id order and skips rows another
    transaction holds (another worker claiming or reporting them, which then
    has them): two statements changing several rows then never wait for
    each other, so they cannot deadlock. SQLite has one writer at a time.
    """
    ids = ", ".join(["%s"] * count)
    if not connection.features.has_select_for_update_skip_locked:
        return f"{_D['id']} IN ({ids}) AND {condition}"
    return (
        f"{_D['id']} IN (SELECT {_D['id']} FROM {_DELIVERIES}"  # noqa: S608
        f" WHERE {_D['id']} IN ({ids}) AND {condition}"
        f" ORDER BY {_D['id']} FOR UPDATE SKIP LOCKED)"
    )
