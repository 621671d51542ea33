"""Database helpers shared by every app."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError, connection
from django.db.backends.utils import CursorWrapper

# What a query raises when the database cannot serve it just now: down or
# restarting, the connection lost, a deadlock victim. A request that meets
# one is answered 503 with this Retry-After, never 500: the sender retries.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def own_rows() -> tuple[str, ...]:
    """Return `of` for select_for_update() that locks the queried rows only.

    With joins (select_related) and no OF, PostgreSQL locks the joined rows
    too: the severity row every incident of that severity shares, say, which
    would make unrelated incidents wait for each other. SQLite has no row
    locks (it takes the database's write lock) and no OF.
    """
    return ("self",) if connection.features.has_select_for_update_of else ()


def prepared_cursor() -> CursorWrapper:
    """Return a cursor whose statements PostgreSQL parses and plans once per
    connection (config/postgresql); elsewhere a cursor as usual.

    For the statements of the ingest request path, which run thousands of
    times a second under a storm with nothing but their parameters changing.
    """
    make = getattr(connection, "prepared_cursor", None)
    return make() if make is not None else connection.cursor()
