"""Real services: PostgreSQL (DATABASE_URL) and RabbitMQ (CELERY_BROKER_URL).

These tests run whenever both variables point at those services, and then
fail, never skip, if a service does not answer. Without the variables (the
embedded SQLite run) they are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CONFIGURED = os.environ.get("DATABASE_URL", "").startswith("postgres") and (
    os.environ.get("CELERY_BROKER_URL", "").startswith(("amqp", "pyamqp"))
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(
        reason="set DATABASE_URL=postgres://… and CELERY_BROKER_URL=amqp://… to run"
    )
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
            if not CONFIGURED:
                item.add_marker(skip)


def database_url(name: str) -> str:
    """Return DATABASE_URL pointed at database `name` on the same server."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


class Process:
    """A child process whose output goes to a file that tests can wait on."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.popen = subprocess.Popen(  # noqa: S603
                argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_for(self, *needles: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if all(needle in text for needle in needles):
                return text
            if self.popen.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"never saw {needles}:\n{self.log.read_text()[-4000:]}")

    def stop(self, timeout: float = 30) -> int:
        if self.popen.poll() is None:
            self.popen.terminate()
        return self.popen.wait(timeout=timeout)


@pytest.fixture
def worker(
    django_db_serialized_rollback: None, transactional_db: None, tmp_path: Path
) -> Iterator[Process]:
    """A real Celery worker on RabbitMQ, using the test database.

    Its writes are committed, so the test database is flushed afterwards;
    serialized rollback restores the data migrations' rows (the severity
    matrix) for the tests that follow.
    """
    from config.celery import QUEUES, app

    app.control.purge()
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict["NAME"])}
    process = Process(
        [sys.executable, "-m", "celery", "-A", "config", "worker",
         "--queues", ",".join(QUEUES), "--pool", "solo", "--loglevel", "INFO",
         "--hostname", f"itest-{uuid.uuid4().hex[:8]}@%h", "--without-gossip",
         "--without-mingle"],
        env,
        tmp_path / "worker.log",
    )  # fmt: skip
    process.wait_for("ready.")
    yield process
    process.stop()
