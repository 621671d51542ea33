"""The PostgreSQL backend's health check (config/postgresql)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection

from config.db import prepared_cursor

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the PostgreSQL backend's own health check",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def server() -> Iterator[psycopg.Connection]:
    """A second connection to the test database, to watch and act on ours."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return pid


def last_query(server: psycopg.Connection, pid: int) -> str:
    row = server.execute(
        "SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()
    assert row is not None
    return row[0]


def closed_by_the_server(server: psycopg.Connection) -> int:
    """Have the server end our connection; return its backend's pid once
    the connection shows it is closed."""
    pid = backend_pid()
    server.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while connection.is_usable():
        assert time.monotonic() < deadline, "the closed connection looks usable"
        time.sleep(0.01)
    return pid


def test_a_live_connection_is_usable_and_the_check_sends_nothing(server):
    pid = backend_pid()
    assert "pg_backend_pid" in last_query(server, pid)

    assert connection.is_usable()
    assert "pg_backend_pid" in last_query(server, pid)  # no SELECT 1 came


def test_a_connection_the_server_closed_is_replaced_before_it_is_used(server):
    pid = closed_by_the_server(server)

    # What Django does before the first query of a request or task.
    connection.health_check_done = False
    connection.close_if_health_check_failed()

    assert backend_pid() != pid


def test_the_prepared_cursor_replaces_a_closed_connection_before_its_first_statement(
    server,
):
    pid = closed_by_the_server(server)

    # The start of a request or task; then the ingest path's first statement.
    connection.health_check_done = False
    with prepared_cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid() WHERE 1 = %s", [1])
        (now,) = cursor.fetchone()

    assert now != pid


PREPARE_TWICE = """
import django
django.setup()
from django.db import connection
from config.db import prepared_cursor
for _ in range(2):
    with prepared_cursor() as cursor:
        cursor.execute("SELECT 1 WHERE 1 = %s", [1])
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_prepared_statements")
    print(cursor.fetchone()[0])
"""


@pytest.mark.parametrize(("setting", "prepared"), [("true", "1"), ("false", "0")])
def test_prepared_statements_can_be_turned_off_for_a_pooler(setting, prepared):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = os.environ | {
        "DATABASE_URL": url,
        "DATABASE_PREPARED_STATEMENTS": setting,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PREPARE_TWICE],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split()[-1] == prepared
