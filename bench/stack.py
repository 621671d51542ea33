"""The production-style stack a benchmark runs against, and its clean-up.

A scratch PostgreSQL database and RabbitMQ virtual host, gunicorn (WSGI, sync
workers) serving Vigil and the baseline view, and one Celery worker on the
`ingest` and `default` queues. Everything started here is stopped and dropped
by the ExitStack it was registered on, on success, error or Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from kombu import Connection

from bench.schema import CREATE_TABLE

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP_SERVER = "amqp://guest:guest@127.0.0.1:5672/"
SETTINGS = "bench.baseline_settings"

SETUP_SCRIPT = """
import json
from incidents.services import integration_create, service_create, team_create
team = team_create(name="Bench")
keys = {}
for name in ("load", "storm"):
    service = service_create(name=f"Bench {name}", team=team)
    integration, key = integration_create(
        name=f"bench-{name}", kind="pagerduty", service=service
    )
    keys[name] = {"key": key, "integration": integration.pk, "service": service.pk}
print(json.dumps(keys))
"""


class StackError(RuntimeError):
    """The stack could not be set up; the message says which part."""


@dataclass(frozen=True)
class Integration:
    key: str
    integration_id: int
    service_id: int


@dataclass
class Stack:
    """Handles on the running stack: where it listens and what it holds."""

    dsn: str
    broker_url: str
    env: dict[str, str]
    var_dir: Path
    own_vhost: bool = True
    integrations: dict[str, Integration] = field(default_factory=dict)
    port: int = 0
    workers: int = 0
    gunicorn: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None

    @property
    def database(self) -> str:
        return self.dsn.rsplit("/", 1)[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql)

    def queue_depth(self, queue: str) -> tuple[int, int]:
        """Return (messages ready, consumers) of a queue on the broker."""
        with Connection(self.broker_url, connect_timeout=5) as conn:
            ok = conn.default_channel.queue_declare(queue=queue, passive=True)
        return int(ok.message_count), int(ok.consumer_count)

    def purge(self, *queues: str) -> int:
        """Drop the messages waiting in `queues`; return how many."""
        with Connection(self.broker_url, connect_timeout=5) as conn:
            return sum(int(conn.default_channel.queue_purge(q) or 0) for q in queues)

    def sessions(self) -> dict[int, str]:
        """Session ids of the processes started here, by what they are."""
        named = {"gunicorn": self.gunicorn, "celery worker": self.worker}
        return {p.pid: name for name, p in named.items() if p and p.poll() is None}


# --- Scratch database and virtual host ---------------------------------------


def scratch_database(stack: contextlib.ExitStack, name: str) -> str:
    """Create database `name`; drop it (connections and all) at the end."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    stack.callback(_drop_database, name)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def _drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def scratch_vhost(stack: contextlib.ExitStack, name: str) -> str:
    """Create RabbitMQ vhost `name` for guest; delete it, queues and all, at the end.

    A vhost of its own keeps the benchmark's tens of thousands of messages
    away from any other worker or test run using the same RabbitMQ.
    """
    _rabbitmqctl("add_vhost", name)
    stack.callback(_rabbitmqctl, "delete_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return AMQP_SERVER + name


def _rabbitmqctl(*args: str) -> None:
    tool = shutil.which("rabbitmqctl")
    if tool is None:
        raise StackError("rabbitmqctl not found: run with --vhost / instead")
    done = subprocess.run(  # noqa: S603
        [tool, "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise StackError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")


# --- Vigil set-up -------------------------------------------------------------


def vigil_env(database_url: str, broker_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        DATABASE_CONN_MAX_AGE="60",
        VIGIL_VAR_DIR=str(var_dir),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise StackError(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def create_integrations(env: dict[str, str]) -> dict[str, Integration]:
    """Create the load and storm integrations, each on its own service."""
    out = manage(env, "shell", "-c", SETUP_SCRIPT)
    rows = json.loads(out.strip().splitlines()[-1])
    return {
        name: Integration(row["key"], row["integration"], row["service"])
        for name, row in rows.items()
    }


# --- Processes ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in a session of its own, so its children stop with it."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    """Stop a process started by spawn(), with its children; kill if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    # The leader only: gunicorn's master and Celery's main process stop their
    # children themselves, letting a running request or task finish.
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def log_tail(log: Path, lines: int = 30) -> str:
    if not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait(what: str, ready: Any, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{what} exited:\n{log_tail(log)}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if ready():
                return
        time.sleep(0.2)
    raise StackError(f"{what} not ready after 60 s:\n{log_tail(log)}")


def start_gunicorn(stack: Stack, workers: int) -> None:
    """(Re)start gunicorn with `workers` sync workers on a free port."""
    stop(stack.gunicorn)
    stack.port, stack.workers = free_port(), workers
    log = stack.var_dir / "gunicorn.log"
    args = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{stack.port}",
        "--workers", str(workers),
        "--worker-class", "sync",
        "--log-level", "warning",
    ]  # fmt: skip
    stack.gunicorn = spawn(args, stack.env, log)
    _wait("gunicorn", lambda: _answers(stack.port), stack.gunicorn, log)


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/v2/enqueue")
        return conn.getresponse().status == 405  # the view takes POST only
    finally:
        conn.close()


def start_worker(
    stack: Stack,
    queues: Sequence[str] = ("ingest", "default"),
    concurrency: int = 1,
    loglevel: str = "WARNING",
) -> None:
    """Start the one Celery worker, by default on `ingest` and `default`."""
    log = stack.var_dir / "worker.log"
    args = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--queues", ",".join(queues),
        "--concurrency", str(concurrency),
        "--loglevel", loglevel,
    ]  # fmt: skip
    stack.worker = spawn(args, stack.env, log)
    _wait("celery worker", lambda: _consuming(stack, queues), stack.worker, log)


def _consuming(stack: Stack, queues: Sequence[str]) -> bool:
    try:
        return all(stack.queue_depth(q)[1] > 0 for q in queues)
    except Exception:  # the worker has not declared its queues yet
        return False


def _show_logs_on_error(var_dir: Path) -> Any:
    def show(kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and not issubclass(kind, KeyboardInterrupt):
            for log in sorted(var_dir.glob("*.log")):
                print(f"--- last lines of {log.name} ---\n{log_tail(log)}")

    return show


# --- The whole stack ------------------------------------------------------------


@contextlib.contextmanager
def running_stack(workers: int, vhost: str | None) -> Iterator[Stack]:
    """Yield a migrated, populated, serving stack; tear it all down after."""
    tag = secrets.token_hex(4)
    with contextlib.ExitStack() as stack:
        var_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
        stack.callback(shutil.rmtree, var_dir, ignore_errors=True)
        database_url = scratch_database(stack, f"vigil_bench_{tag}")
        if vhost is None:
            broker_url = scratch_vhost(stack, f"vigil_bench_{tag}")
        else:
            broker_url = AMQP_SERVER + vhost
        env = vigil_env(database_url, broker_url, var_dir)
        stack_ = Stack(database_url, broker_url, env, var_dir, vhost is None)
        stack.push(_show_logs_on_error(var_dir))
        stack.callback(lambda: stop(stack_.gunicorn))
        stack.callback(lambda: stop(stack_.worker))
        manage(env, "migrate", "--no-input")
        stack_.integrations = create_integrations(env)
        stack_.execute(CREATE_TABLE)
        start_worker(stack_)
        start_gunicorn(stack_, workers)
        yield stack_
