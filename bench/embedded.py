"""`make run` as a user starts it: `manage.py runstack` on the embedded default.

SQLite and the filesystem broker under a var directory of its own, on a
port of its own, with the demo data it seeds on first run. Used by the soak
(bench/soak.py) and by the tests that kill its programs or let it run a while.
"""

from __future__ import annotations

import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {"web": "uvicorn", "worker": " worker ", "beat": " beat "}
RESTART = re.compile(r"^stack\s+\| (\w+) exited with code (\S+)", re.MULTILINE)
# What a healthy stack never prints; a line with one of these is an error.
ERRORS = ("Traceback", "CRITICAL", " ERROR ", " ERROR:", "Unrecoverable error")


# Outgoing connections take their local port from this range (Linux's
# default where the kernel does not say), so a port below it that is free
# now stays free for the server about to listen on it: a port the kernel
# hands out (bind to 0) may meanwhile become a client socket's of another
# test running at the same time, and the server then fails to start.
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 20000


def free_port() -> int:
    """Return a port on 127.0.0.1 that nothing listens on, below the range
    outgoing connections are given."""
    first = int(EPHEMERAL.read_text().split()[0]) if EPHEMERAL.exists() else 32768
    for port in random.sample(range(LOWEST_PORT, first), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {LOWEST_PORT}-{first}")


def embedded_env(var_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of `make run` on a fresh clone, in `var_dir`: the real
    settings (not the tests'), the embedded default, DEBUG off."""
    unset = {
        "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL",
        "VIGIL_BASE_URL", "DEBUG",
    }  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(VIGIL_VAR_DIR=str(var_dir), PORT=str(port), **extra)
    return env


@dataclass
class Runstack:
    """A running `manage.py runstack`, its log, and the demo data's secrets."""

    popen: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    url: str
    token: str = ""
    integration_key: str = ""

    @classmethod
    def start(cls, var_dir: Path, *, port: int = 0, **extra_env: str) -> Runstack:
        """Start it and wait until web, worker and beat are up."""
        port = port or free_port()
        env = embedded_env(var_dir, port, **extra_env)
        log = var_dir / "runstack.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "manage.py", "runstack"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        stack = cls(popen, env, log, f"http://127.0.0.1:{port}")
        try:
            text = stack.wait_for("Uvicorn running", "ready.", "beat: Starting")
        except BaseException:
            stack.stop()
            raise
        token = re.search(r"API token\s+Authorization: Token (\w+)", text)
        key = re.search(r"Integration key\s+([0-9a-f]{32})", text)
        stack.token = token.group(1) if token else ""
        stack.integration_key = key.group(1) if key else ""
        return stack

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def mail(self) -> str:
        """Every message mailed so far: the embedded default writes mail to
        files under var/outbox/ instead of sending it."""
        outbox = Path(self.env["VIGIL_VAR_DIR"]) / "outbox"
        files = sorted(outbox.glob("*.log"), key=lambda path: path.stat().st_mtime)
        return "".join(path.read_text(errors="replace") for path in files)

    def wait_for(
        self, *needles: str, seconds: float = 120, after: int = 0, in_mail: bool = False
    ) -> str:
        """Wait until the log (or the mail), from character `after` on, holds
        every needle."""
        deadline = time.monotonic() + seconds
        while True:
            text = self.mail() if in_mail else self.text()
            if all(needle in text[after:] for needle in needles):
                return text
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never saw {needles}:\n{text[-4000:]}")
            time.sleep(0.3)

    def programs(self) -> dict[str, int]:
        """The pid of each running program (web, worker, beat) by name."""
        found = {}
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except (OSError, ValueError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) != self.popen.pid:
                continue
            for name, mark in PROGRAMS.items():
                if mark in command.decode(errors="replace"):
                    found[name] = int(entry.name)
        return found

    def restarts(self) -> list[tuple[str, str]]:
        """(program, exit code) of every exit the supervisor logged."""
        return RESTART.findall(self.text())

    def error_lines(self) -> list[str]:
        return [
            line
            for line in self.text().splitlines()
            if any(mark in line for mark in ERRORS)
        ]

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Token {self.token}"}
        return httpx.request(
            method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs
        )

    def add_verified_email(self, address: str) -> int:
        """Give the demo admin an email contact method, verified with the
        code the worker mails (to the outbox); return its id."""
        offset = len(self.mail())
        created = self.api(
            "POST",
            "/api/v1/contact-methods/",
            json={"kind": "email", "address": address},
        )
        assert created.status_code == 201, created.text
        method = int(created.json()["id"])
        text = self.wait_for(
            "Your Vigil verification code is", after=offset, in_mail=True
        )
        code = re.findall(r"Your Vigil verification code is (\d{6})", text[offset:])[0]
        verified = self.api(
            "POST", f"/api/v1/contact-methods/{method}/verify/", json={"code": code}
        )
        assert verified.status_code == 200, verified.text
        return method

    def deliveries(self, **filters: str) -> int:
        """How many deliveries the API lists with these filters."""
        answer = self.api("GET", "/api/v1/deliveries/", params=filters)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["count"])

    def send_alert(self, dedup_key: str, action: str = "trigger") -> int:
        """Send a PagerDuty v2 event with the demo integration key."""
        body = {
            "routing_key": self.integration_key,
            "event_action": action,
            "dedup_key": dedup_key,
            "payload": {
                "summary": f"Disk full on {dedup_key}",
                "source": dedup_key,
                "severity": "critical",
            },
        }
        return httpx.post(f"{self.url}/v2/enqueue", json=body, timeout=30).status_code

    def counts(self) -> dict[str, int]:
        """What the database holds of alert events, alerts and incidents."""
        database = Path(self.env["VIGIL_VAR_DIR"]) / "vigil.sqlite3"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
            queries = {
                "events": "SELECT count(*) FROM incidents_alertevent",
                "pending": "SELECT count(*) FROM incidents_alertevent "
                "WHERE processed_at IS NULL",
                "alerts": "SELECT count(*) FROM incidents_alert",
                "incidents": "SELECT count(*) FROM incidents_incident",
            }
            return {
                name: int(db.execute(sql).fetchone()[0])
                for name, sql in queries.items()
            }

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, as a user stops it; return its exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait()
