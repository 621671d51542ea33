"""Django's PostgreSQL backend, with a health check that costs no round trip.

With persistent connections (`DATABASE_CONN_MAX_AGE`) Django checks, before
the first query of every request or Celery task, that the connection it
kept still works. Django's own check is a `SELECT 1`: a round trip, the
third of an ingest request's three. This one asks the socket instead. An
idle connection receives nothing from the server, so anything to read means
the server has said goodbye: a restart, `pg_terminate_backend()`,
`idle_session_timeout`. The connection is then replaced before it is used.
A query that still meets a dead connection fails as before (a 503 for
ingest) and the connection is replaced after it.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.pgconn.status != pq.ConnStatus.OK:
            return False
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
