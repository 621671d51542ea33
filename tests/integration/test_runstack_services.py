"""`make run` with DATABASE_URL and CELERY_BROKER_URL uses PostgreSQL and RabbitMQ."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import httpx
import psycopg

from bench.embedded import free_port
from tests.live import Process, database_url


def test_runstack_on_postgres_and_rabbitmq(scratch_database, tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(scratch_database),
        "VIGIL_VAR_DIR": str(tmp_path),
        "PORT": str(port),
    }
    stack = Process([sys.executable, "manage.py", "runstack"], env, tmp_path / "log")
    try:
        text = stack.wait_for("Uvicorn running", "ready.", "beat: Starting", seconds=90)
        assert "Connected to amqp://" in text
        assert "filesystem://" not in text
        response = httpx.get(f"http://127.0.0.1:{port}/admin/login/")
        assert response.status_code == 200
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            users = conn.execute("SELECT username FROM auth_user").fetchall()
        assert users == [("admin",)]
    finally:
        stack.popen.send_signal(signal.SIGINT)
        assert stack.popen.wait(timeout=40) == 0, stack.log.read_text()[-3000:]
    assert not (tmp_path / "vigil.sqlite3").exists()
