"""Private PostgreSQL and RabbitMQ servers that a fault test may stop and start.

The machine's own servers are shared with other runs and never touched: each
server here is started by the test run from scratch in a temporary directory,
on free ports, and stopped and removed afterwards, on failure too. A stopped
server starts again on the same data, so what was durable survives, as it
would a real restart.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from bench.embedded import free_port
from tests.live import Process, wait_until


def _tool(name: str, *folders: str) -> str:
    """Return the path of a server program, from `folders` first, then PATH."""
    for pattern in folders:
        for folder in sorted(glob.glob(pattern), reverse=True):  # newest version
            if os.access(Path(folder) / name, os.X_OK):
                return str(Path(folder) / name)
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} not found: the fault tests start their own")
    return found


def _run(argv: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(  # noqa: S603
        argv, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{argv[0]} {argv[1:4]}: {done.stdout}{done.stderr}")
    return done.stdout


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, owned by the `postgres` user
    when the tests run as root (the server refuses to run as root)."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.data = directory / "data"
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(directory, user="postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        initdb = _tool("initdb", "/usr/lib/postgresql/*/bin")
        _run([*self.as_owner, initdb, "-D", str(self.data), "-U", "postgres",
              "-A", "trust", "-E", "UTF8", "--no-sync"])  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        pg_ctl = _tool("pg_ctl", "/usr/lib/postgresql/*/bin")
        _run([*self.as_owner, pg_ctl, "-D", str(self.data), "-w", *args])

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-k {self.directory} -c fsync=off -c max_connections=100"
        )
        self._pg_ctl("-l", str(self.directory / "server.log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends every session, as a restart does."""
        self._pg_ctl("-m", mode, "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


class PrivateRabbitMQ:
    """A RabbitMQ node of the test's own: its own name, ports and data."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.node = f"vigil-faults-{uuid.uuid4().hex[:8]}@localhost"
        (directory / "home").mkdir()
        (directory / "enabled_plugins").write_text("[].\n")
        self.env = {
            **os.environ,
            # The Erlang cookie the node and rabbitmqctl share lives here.
            "HOME": str(directory / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(directory / "plugins"),
            "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": str(directory / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(directory / "node.pid"),
        }
        self.server: Process | None = None
        self.starts = 0

    def url(self, vhost: str = "") -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def ctl(self, *args: str) -> str:
        rabbitmqctl = _tool("rabbitmqctl", "/usr/lib/rabbitmq/bin")
        return _run([rabbitmqctl, "-q", "-n", self.node, *args], self.env)

    def start(self) -> None:
        """Start the node and wait until it takes AMQP connections."""
        self.starts += 1
        server = _tool("rabbitmq-server", "/usr/lib/rabbitmq/bin")
        self.server = Process(
            [server], self.env, self.directory / f"server-{self.starts}.log"
        )
        wait_until(self._answers, f"RabbitMQ node {self.node}", seconds=60)

    def _answers(self) -> bool:
        if self.server is not None and self.server.popen.poll() is not None:
            raise AssertionError(self.server.log.read_text()[-3000:])
        try:
            with Connection(self.url(), connect_timeout=1) as conn:
                conn.connect()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """Stop the node gracefully, as an operator's restart does."""
        self.ctl("stop")
        if self.server is not None:
            self.server.popen.wait(timeout=30)

    def vhost(self, name: str) -> str:
        """Create virtual host `name` for guest; return its broker URL."""
        self.ctl("add_vhost", name)
        self.ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        return self.url(name)

    def kill(self) -> None:
        if self.server is not None and self.server.popen.poll() is None:
            self.server.popen.kill()
            self.server.popen.wait(timeout=10)


def _scratch_directory(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server the test may restart, for one test module."""
    directory = _scratch_directory("vigil-faults-pg-")
    try:
        server = PrivatePostgres(directory)
        try:
            server.start()
            yield server
        finally:
            if server.running():
                server.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node the test may restart, shared by the fault tests."""
    directory = _scratch_directory("vigil-faults-mq-")
    node = PrivateRabbitMQ(directory)
    try:
        node.start()
        yield node
    finally:
        try:
            if node.server is not None and node.server.popen.poll() is None:
                node.stop()
        except (AssertionError, subprocess.TimeoutExpired):
            node.kill()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
