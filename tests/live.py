"""Real services: PostgreSQL (DATABASE_URL) and RabbitMQ (CELERY_BROKER_URL).

Helpers and fixtures for tests/integration/ and tests/faults/. Those tests
run whenever both variables point at those services, and then fail, never
skip, if a service does not answer. Without the variables (the embedded
SQLite run) they are skipped with the reason.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest
from django.db import connection

from bench.embedded import embedded_env, free_port
from bench.stack import GUNICORN_CONFIG

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")
CONFIGURED = os.environ.get("DATABASE_URL", "").startswith("postgres") and (
    os.environ.get("CELERY_BROKER_URL", "").startswith(("amqp", "pyamqp"))
)


def database_url(name: str) -> str:
    """Return DATABASE_URL pointed at database `name` on the same server."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


class Process:
    """A child process whose output goes to a file that tests can wait on.

    It leads a process group of its own, so that `kill()` takes its children
    (a prefork worker's pool, gunicorn's workers) with it.
    """

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.popen = subprocess.Popen(  # noqa: S603
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
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

    def kill(self) -> None:
        """`kill -9` the process and every process of its group, at once."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


def child_env(**extra_env: str) -> dict[str, str]:
    """Return the environment of a child process using the test database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        **extra_env,
    }


def start_worker(log: Path, *, concurrency: int = 0, **extra_env: str) -> Process:
    """Start a real Celery worker on RabbitMQ using the test database.

    One process (`--pool solo`) unless `concurrency` asks for a prefork pool
    of that many, as production runs it.
    """
    from config.celery import QUEUES

    pool = ["--concurrency", str(concurrency)] if concurrency else ["--pool", "solo"]
    process = Process(
        [sys.executable, "-m", "celery", "-A", "config", "worker",
         "--queues", ",".join(QUEUES), *pool, "--loglevel", "INFO",
         "--hostname", f"itest-{uuid.uuid4().hex[:8]}@%h", "--without-gossip",
         "--without-mingle"],
        child_env(**extra_env),
        log,
    )  # fmt: skip
    process.wait_for("ready.")
    return process


def start_beat(log: Path, **extra_env: str) -> Process:
    """Start Celery beat (its schedule in the test database) on RabbitMQ."""
    process = Process(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
         "--schedule", str(log.with_suffix(".db"))],
        child_env(**extra_env),
        log,
    )  # fmt: skip
    process.wait_for("beat: Starting")
    return process


def start_web(log: Path, *, workers: int = 3, **extra_env: str) -> tuple[Process, str]:
    """Serve Vigil as production does, with gunicorn and its settings, on
    the test database; return the process and its base URL."""
    port = free_port()
    env = child_env(DATABASE_CONN_MAX_AGE="60", **extra_env)
    process = Process(
        [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG,
         "config.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--log-level", "info"],
        env,
        log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    # A GET of the ingest endpoint answers 405 once a worker serves.
    wait_until(lambda: _answers(f"{url}/v2/enqueue"), "gunicorn to serve", seconds=60)
    return process, url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 405
    except httpx.TransportError:
        return False


@pytest.fixture
def worker(
    django_db_serialized_rollback: None, transactional_db: None, tmp_path: Path
) -> Iterator[Process]:
    """A real Celery worker on RabbitMQ, using the test database.

    Its writes are committed, so the test database is flushed afterwards;
    serialized rollback restores the data migrations' rows (the severity
    matrix) for the tests that follow.
    """
    from config.celery import app

    app.control.purge()
    process = start_worker(tmp_path / "worker.log")
    yield process
    process.stop()


@pytest.fixture
def workers(
    django_db_serialized_rollback: None, transactional_db: None, tmp_path: Path
) -> Iterator[list[Process]]:
    """Processes the test starts (workers, beat) and appends; stopped after."""
    from config.celery import app

    app.control.purge()
    started: list[Process] = []
    yield started
    for process in started:
        if process.popen.poll() is None:
            process.stop()


# The database every scratch database is copied from: migrated once per run,
# so that each live stack's own `migrate` finds nothing left to apply instead
# of running every migration again (some forty seconds on PostgreSQL).
_template: list[str] = []


def _migrated_template(admin_url: str) -> str:
    if not _template:
        name = f"vigil_template_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop, admin_url, name)
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url(name)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"migrating the template failed:\n{done.stderr}")
        _template.append(name)
    return _template[0]


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database_named(prefix: str) -> Iterator[str]:
    """A database of its own on the DATABASE_URL server, migrated, dropped
    after."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin_url = database_url("postgres")
    template = _migrated_template(admin_url)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield name
    finally:
        _drop(admin_url, name)


@pytest.fixture
def scratch_database() -> Iterator[str]:
    with scratch_database_named("vigil_runstack") as name:
        yield name


def wait_until(
    probe: Callable[[], T | None], what: str, seconds: float = 60, every: float = 0.2
) -> T:
    """Return probe()'s first truthy answer; fail after `seconds` without one."""
    deadline = time.monotonic() + seconds
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:g}s for {what}; last: {answer!r}")
        time.sleep(every)


@dataclass(frozen=True)
class Integration:
    id: int
    key: str


@dataclass(frozen=True)
class LiveVigil:
    """`manage.py runstack` on a scratch database: web, worker and beat."""

    url: str
    env: dict[str, str]
    token: str
    stack: Process

    def integration(self, kind: str, name: str) -> Integration:
        """Create an integration on the demo service; return its id and key."""
        code = (
            "import json; from incidents.models import Service; "
            "from incidents.services import integration_create; "
            f"i, key = integration_create(name={name!r}, kind={kind!r}, "
            "service=Service.objects.get(slug='website')); "
            "print(json.dumps({'id': i.pk, 'key': key}))"
        )
        created = json.loads(self.shell(code))
        assert re.fullmatch(r"[0-9a-f]{32}", created["key"]), created
        return Integration(id=created["id"], key=created["key"])

    def shell(self, code: str) -> str:
        """Run Python `code` in `manage.py shell` on this stack's database;
        return the last line it printed."""
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout.strip().splitlines()[-1]

    def get(self, path: str, **params: str | int) -> Any:
        """GET an API path as the seeded admin and return the decoded JSON."""
        response = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Token {self.token}"},
            timeout=10,
        )
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def verify(self, public_id: str) -> None:
        """Tick every verification item of the incident, as its team does."""
        path = f"/api/v1/incidents/{public_id}/verification/"
        for item in self.get(path)["items"]:
            response = httpx.post(
                f"{self.url}{path}{item['id']}/tick/",
                headers={"Authorization": f"Token {self.token}"},
                timeout=10,
            )
            assert response.status_code == 200, (response.status_code, response.text)

    def alerts(self, integration: Integration) -> list[dict[str, Any]]:
        page = self.get("/api/v1/alerts/", integration=integration.id, page_size=200)
        return list(page["results"])

    def incident(self, public_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/incidents/{public_id}/"))

    def timeline(self, public_id: str) -> list[dict[str, Any]]:
        page = self.get(f"/api/v1/incidents/{public_id}/timeline/", page_size=200)
        return list(page["results"])

    def events(self, integration: Integration) -> list[dict[str, Any]]:
        """What Vigil received from an integration, with how it was applied."""
        page = self.get(
            "/api/v1/alert-events/", integration=integration.id, page_size=200
        )
        return list(page["results"])


@contextmanager
def runstack(env: dict[str, str], log: Path) -> Iterator[tuple[Process, str]]:
    """Run `manage.py runstack` as `make run` does; yield it and its output
    once web, worker and beat are up; stop it with Ctrl-C after."""
    stack = Process([sys.executable, "manage.py", "runstack"], env, log)
    try:
        text = stack.wait_for("Uvicorn running", "ready.", "beat: Starting", seconds=90)
        yield stack, text
    finally:
        if stack.popen.poll() is None:
            stack.popen.send_signal(signal.SIGINT)
        try:
            stack.popen.wait(timeout=40)
        except subprocess.TimeoutExpired:
            stack.popen.kill()
            stack.popen.wait()


def printed(text: str, label: str, value: str = r"\S+") -> str:
    """Return the value the first run printed after `label`."""
    found = re.search(rf"^\s*{label}\s+({value})\s*$", text, re.MULTILINE)
    assert found is not None, f"no {label!r} in:\n{text[-3000:]}"
    return found.group(1)


@contextmanager
def running_stack(env: dict[str, str], log: Path) -> Iterator[LiveVigil]:
    """`manage.py runstack` with `env` (its PORT, its database), as a
    LiveVigil signed in with the API token its first run printed."""
    with runstack(env, log) as (stack, text):
        token = printed(text, "API token", r"Authorization: Token [0-9a-f]{40}")
        url = f"http://127.0.0.1:{env['PORT']}"
        yield LiveVigil(url, env, token.split()[-1], stack)


@pytest.fixture(scope="module")
def live_vigil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveVigil]:
    """The whole stack on PostgreSQL and RabbitMQ, for one test module."""
    tmp = tmp_path_factory.mktemp("vigil")
    with scratch_database_named("vigil_live") as name:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(name),
            "VIGIL_VAR_DIR": str(tmp),
            "PORT": str(free_port()),
        }
        with running_stack(env, tmp / "log") as vigil:
            yield vigil


@dataclass(frozen=True)
class FirstRun:
    """`make run` on a fresh clone with the defaults, and what it printed once."""

    url: str
    env: dict[str, str]
    text: str
    stack: Process

    @property
    def username(self) -> str:
        return printed(self.text, "username")

    @property
    def password(self) -> str:
        return printed(self.text, "password")

    @property
    def token(self) -> str:
        header = printed(self.text, "API token", r"Authorization: Token [0-9a-f]{40}")
        return header.removeprefix("Authorization: Token ")

    @property
    def integration_key(self) -> str:
        return printed(self.text, "Integration key", r"[0-9a-f]{32}")


@contextmanager
def first_run(var_dir: Path) -> Iterator[FirstRun]:
    """Run the stack as `make run` does on a fresh clone: the real settings
    (not the tests'), the embedded default (SQLite, filesystem broker), DEBUG
    off, an empty var dir."""
    port = free_port()
    env = embedded_env(var_dir, port)
    with runstack(env, var_dir / "runstack.log") as (stack, text):
        yield FirstRun(f"http://127.0.0.1:{port}", env, text, stack)
