"""Reading every row of a large query, as PostgreSQL sends them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import QuerySet
from psycopg import pq

# Rows made Python objects at a time: the database's answer is held whole
# in its compact form (a few dozen bytes a row), not as Python objects.
CHUNK_ROWS = 5000


def every_row(
    rows: QuerySet[Any, tuple[Any, ...]], *, settings: Mapping[str, str] = {}
) -> Iterator[tuple[Any, ...]]:
    """Yield every row of a values_list query, with the `settings` (name:
    value) for it alone in a transaction of its own.

    PostgreSQL sends them in its binary format, not as the text Django's
    cursors ask for: bytes as themselves, not twice as many hexadecimal
    digits to decode, and numbers, dates and booleans as they are, which
    need none of Django's converters (the query's columns must be of those
    types or text: no time zone is applied). One round trip, and the query
    planned for reading every row, which a server-side cursor is not (it is
    planned for its first tenth). Other databases: Django's own rows."""
    if connection.vendor != "postgresql":
        yield from rows.iterator(chunk_size=CHUNK_ROWS)
        return
    sql, params = rows.query.sql_with_params()
    with transaction.atomic() if settings else contextlib.nullcontext():
        connection.ensure_connection()
        binary = psycopg.Cursor(connection.connection)
        binary.format = pq.Format.BINARY
        # Wrapped as Django wraps its own: its errors, wrappers and query log.
        wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
        with wrapper(binary, connection) as cursor:
            if settings:
                cursor.execute(
                    "SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(settings)),
                    [part for setting in settings.items() for part in setting],
                )
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(CHUNK_ROWS):
                yield from chunk
