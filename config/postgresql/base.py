"""Django's PostgreSQL backend, with a health check that costs no round trip
and prepared statements for the hottest path.

With persistent connections (`DATABASE_CONN_MAX_AGE`) Django checks, before
the first query of every request or Celery task, that the connection it
kept still works. Django's own check is a `SELECT 1`: a round trip, the
third of an ingest request's three. This one asks the socket instead. An
idle connection receives nothing from the server, so anything to read means
the server has said goodbye: a restart, `pg_terminate_backend()`,
`idle_session_timeout`. The connection is then replaced before it is used.
A query that still meets a dead connection fails as before (a 503 for
ingest) and the connection is replaced after it.

`prepared_cursor()` is for the few statements every ingest request runs.
Django binds parameters on the client, so PostgreSQL parses and plans each
statement anew: for the quota's admission that was more than half of its
CPU. Its statements are prepared the first time a connection runs them and
then only executed. Everything else keeps Django's cursor: a prepared
statement's generic plan suits these lookups by key, not every query.
`DATABASE_PREPARED_STATEMENTS=false` (for a pooler that cannot keep them)
sets the connection's `prepare_threshold` to None, and psycopg then
prepares nothing, these included.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.utils import CursorWrapper
from psycopg import pq


class PreparedCursor(psycopg.Cursor[Any]):
    """Binds parameters on the server, and prepares each statement the first
    time its connection runs it."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, **kwargs | {"prepare": True})


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str:
        # What the debug log and the tests' captured queries show: a
        # prepared statement is sent by name, so it is composed here, as
        # Django does for its server-side binding.
        if isinstance(cursor, PreparedCursor):
            return str(self.compose_sql(sql, params))
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
            return False
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)

    def prepared_cursor(self) -> CursorWrapper:
        """A cursor as `cursor()` gives (wrapped, logged in tests), whose
        statements are prepared on their connection. Like `cursor()`, it
        first replaces a connection the server has closed (the health check
        above), before the first statement of a request or task."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        self.validate_thread_sharing()
        with self.wrap_database_errors:
            # Any: the stubs type make_cursor's argument as Django's wrapper,
            # which is given the driver's cursor (as in `cursor()`).
            cursor: Any = PreparedCursor(self.connection)
        if self.queries_logged:
            return self.make_debug_cursor(cursor)
        return self.make_cursor(cursor)
