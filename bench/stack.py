"""The production-style stack a benchmark runs against, and its clean-up.

A scratch PostgreSQL database and RabbitMQ virtual host, gunicorn (WSGI, sync
workers) serving Vigil and the baseline view, and one Celery worker on the
`ingest` and `default` queues. Everything started here is stopped and dropped
by the ExitStack it was registered on, on success, error or Ctrl-C alike.

Over 400 lines on purpose: every benchmark starts its processes through
these functions, so each starts and is cleaned up the same way.
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
GUNICORN_CONFIG = "python:config.gunicorn"

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
    # Other processes of the stack (worker nodes, beat, ...), by what they are.
    others: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    receiver_port: int = 0

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
        return queue_depth(self.broker_url, queue)

    def purge(self, *queues: str) -> int:
        """Drop the messages waiting in `queues`; return how many."""
        with Connection(self.broker_url, connect_timeout=5) as conn:
            return sum(int(conn.default_channel.queue_purge(q) or 0) for q in queues)

    def sessions(self) -> dict[int, str]:
        """Session ids of the processes started here, by what they are."""
        named = {"gunicorn": self.gunicorn, "celery worker": self.worker}
        named |= self.others
        return {p.pid: name for name, p in named.items() if p and p.poll() is None}


def queue_depth(broker_url: str, queue: str) -> tuple[int, int]:
    """Return (messages ready, consumers) of a queue on the broker."""
    with Connection(broker_url, connect_timeout=5) as conn:
        ok = conn.default_channel.queue_declare(queue=queue, passive=True)
    return int(ok.message_count), int(ok.consumer_count)


def consuming(broker_url: str, queues: Sequence[str], consumers: int = 1) -> bool:
    """Return whether every queue has at least `consumers` consumers."""
    try:
        return all(queue_depth(broker_url, q)[1] >= consumers for q in queues)
    except Exception:  # the worker has not declared its queues yet
        return False


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
        # Pages and channel messages go to the local webhook receiver.
        VIGIL_OUTBOUND_ALLOWLIST="127.0.0.1/32",
        # The load sends thousands of new alerts a second from one key, which
        # the quota would refuse: counted (what it costs is measured), never
        # refused. Flood protection off: every alert opens its incident, as
        # in the figures before it.
        VIGIL_INGEST_NEW_ALERTS_PER_MINUTE="1000000000",
        VIGIL_FLOOD_INCIDENTS_PER_MINUTE="0",
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


def spawn(
    args: list[str], env: dict[str, str], log: Path, *, nice: int = 0
) -> subprocess.Popen[bytes]:
    """Start a process in a session of its own, so its children stop with it.

    `nice` lowers the CPU weight of the process and its children against
    every other process, as a lower `CPUWeight` (systemd) or `cpu_shares`
    (Compose) does in production. `nice -n` alone would not: where the
    kernel groups processes by session (autogroup), the scheduler shares
    the CPU between sessions first and a process's nice value only counts
    within its own session; the session's group takes the same value.
    """
    if nice:
        args = ["nice", "-n", str(nice), *args]
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    group = Path(f"/proc/{process.pid}/autogroup")
    if nice and group.exists():
        group.write_text(str(nice))
    return process


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


def start_gunicorn(stack: Stack, workers: int) -> None:
    """(Re)start gunicorn as README runs it, with `workers` workers, on a
    free port."""
    stop(stack.gunicorn)
    stack.port, stack.workers = free_port(), workers
    log = stack.var_dir / "gunicorn.log"
    args = [
        sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONFIG,
        "config.wsgi:application",
        "--bind", f"127.0.0.1:{stack.port}",
        "--workers", str(workers),
        "--log-level", "warning",
    ]  # fmt: skip
    stack.gunicorn = spawn(args, stack.env, log)
    until("gunicorn", lambda: _answers(stack.port), proc=stack.gunicorn, log=log)


def _answers(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/v2/enqueue")
        return conn.getresponse().status == 405  # the view takes POST only
    finally:
        conn.close()


def start_worker(
    stack: Stack,
    queues: Sequence[str] = ("ingest", "ingest_backlog", "default"),
    concurrency: int = 1,
    loglevel: str = "WARNING",
) -> None:
    """Start the one Celery worker, by default on `ingest` and `default`."""
    log = stack.var_dir / "worker.log"
    stack.worker = spawn_worker(
        stack.env,
        log,
        queues=",".join(queues),
        concurrency=concurrency,
        loglevel=loglevel,
    )
    until(
        "celery worker",
        lambda: consuming(stack.broker_url, queues),
        proc=stack.worker,
        log=log,
    )


def spawn_worker(
    env: dict[str, str],
    log: Path,
    *,
    queues: str,
    concurrency: int,
    node: str = "",
    loglevel: str = "WARNING",
    nice: int = 0,
) -> subprocess.Popen[bytes]:
    """Start a Celery worker node (prefork) consuming `queues`, at the CPU
    weight `nice` gives it (`spawn`)."""
    args = [
        sys.executable, "-m", "celery", "-A", "config", "worker",
        "--queues", queues,
        "--concurrency", str(concurrency),
        "--loglevel", loglevel,
    ]  # fmt: skip
    if node:
        args += ["--hostname", f"{node}@%h"]
    return spawn(args, env, log, nice=nice)


def spawn_beat(env: dict[str, str], var_dir: Path) -> subprocess.Popen[bytes]:
    """Start Celery beat; return once it has started its schedule."""
    log = var_dir / "beat.log"
    beat = spawn(
        [sys.executable, "-m", "celery", "-A", "config", "beat",
         "--loglevel", "INFO", "--schedule", str(var_dir / "beat.db")],
        env, log,
    )  # fmt: skip
    until("beat", lambda: "Starting" in log.read_text(), proc=beat, log=log)
    return beat


def spawn_receiver(
    env: dict[str, str], var_dir: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the local webhook receiver (bench/receiver.py) on a free port."""
    from bench import receiver

    port = free_port()
    log = var_dir / "receiver.log"
    proc = spawn([sys.executable, "-m", "bench.receiver", str(port)], env, log)
    until("the receiver", lambda: receiver.answers(port), proc=proc, log=log)
    return proc, port


def until(
    what: str,
    ready: Any,
    seconds: float = 60,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Wait until `ready()` is true; fail after `seconds` or if `proc` exits.

    `ready()` raising OSError or an HTTP error counts as not ready yet.
    """
    deadline = time.monotonic() + seconds
    while True:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what} exited:\n{log_tail(log) if log else ''}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if ready():
                return
        if time.monotonic() > deadline:
            tail = f":\n{log_tail(log)}" if log else ""
            raise StackError(f"{what} not ready after {seconds:g} s{tail}")
        time.sleep(0.2)


def _show_logs_on_error(var_dir: Path) -> Any:
    def show(kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and not issubclass(kind, KeyboardInterrupt):
            for log in sorted(var_dir.glob("*.log")):
                print(f"--- last lines of {log.name} ---\n{log_tail(log)}")

    return show


def exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so that clean-up runs."""

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)


# --- The whole stack ------------------------------------------------------------


def prepare(stack: contextlib.ExitStack, vhost: str | None = None) -> Stack:
    """Make a scratch database (migrated), vhost and directory for a stack.

    `stack` drops them all at the end, and stops whatever process is then
    on the returned Stack.
    """
    tag = secrets.token_hex(4)
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
    stack.callback(lambda: [stop(proc) for proc in stack_.others.values()])
    manage(env, "migrate", "--no-input")
    return stack_


@contextlib.contextmanager
def running_stack(workers: int, vhost: str | None) -> Iterator[Stack]:
    """Yield a migrated, populated, serving stack; tear it all down after."""
    with contextlib.ExitStack() as stack:
        stack_ = prepare(stack, vhost)
        stack_.integrations = create_integrations(stack_.env)
        stack_.execute(CREATE_TABLE)
        start_worker(stack_)
        start_gunicorn(stack_, workers)
        yield stack_
