"""Vigil as production runs it, for fault tests: gunicorn, a worker and beat.

Built from the benchmarks' stack (bench/stack.py) with Vigil's own settings:
gunicorn sync workers with persistent database connections, one worker on
every queue, one beat, all on the database and broker the test chose.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx

from bench.stack import (
    Stack,
    log_tail,
    manage,
    spawn_beat,
    start_gunicorn,
    start_worker,
    stop,
    vigil_env,
)
from config.celery import QUEUES

WEB_WORKERS = 3  # as the README runs gunicorn
WORKER_CONCURRENCY = 4  # as the README runs the worker

SETUP_SCRIPT = """
import json
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from incidents.services import integration_create, service_create, team_create
team = team_create(name="Faults")
service = service_create(name="Faulty", team=team)
keys = [
    integration_create(name=f"faults-{n}", kind="pagerduty", service=service)[1]
    for n in range(COUNT)
]
user = User.objects.create_superuser("faults", "faults@example.com", None)
print(json.dumps({"keys": keys, "token": Token.objects.create(user=user).key}))
"""


@dataclass(frozen=True)
class Answer:
    """What one POST got: its status (0: no answer at all) and how fast."""

    dedup_key: str
    status: int
    seconds: float
    body: str = ""
    retry_after: str | None = None


@dataclass
class VigilStack:
    stack: Stack
    keys: list[str]
    token: str
    beat: Popen[bytes] | None = None
    pids: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.stack.url(path)

    def scalar(self, sql: str) -> Any:
        return self.stack.scalar(sql)

    def trigger(self, key: str, dedup_keys: Iterable[str]) -> list[Answer]:
        """POST one trigger per dedup key to /v2/enqueue, a few at a time."""
        with (
            httpx.Client(timeout=30) as client,
            ThreadPoolExecutor(max_workers=WEB_WORKERS * 2) as pool,
        ):
            return list(pool.map(lambda k: self._trigger(client, key, k), dedup_keys))

    def _trigger(self, client: httpx.Client, key: str, dedup_key: str) -> Answer:
        event = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": dedup_key, "source": "faults", "severity": "error"},
        }
        started = time.monotonic()
        try:
            response = client.post(self.url("/v2/enqueue"), json=event)
        except httpx.HTTPError as error:
            return Answer(dedup_key, 0, time.monotonic() - started, repr(error))
        return Answer(
            dedup_key,
            response.status_code,
            time.monotonic() - started,
            response.text,
            response.headers.get("Retry-After"),
        )

    def api(self, path: str) -> httpx.Response:
        headers = {"Authorization": f"Token {self.token}"}
        return httpx.get(self.url(path), headers=headers, timeout=30)

    def same_processes(self) -> dict[str, int]:
        """The worker's and beat's process ids, if both still run."""
        running = {"worker": self.stack.worker, "beat": self.beat}
        return {n: p.pid for n, p in running.items() if p and p.poll() is None}

    def pending(self) -> int:
        """How many stored events are not processed yet."""
        sql = "SELECT count(*) FROM incidents_alertevent WHERE processed_at IS NULL"
        return int(self.scalar(sql))

    def wait_settled(self, stalled_after: float = 60) -> None:
        """Wait until every stored event has been processed; fail once their
        count has not fallen for `stalled_after` seconds. A storm's thousand
        incidents take as long as the machine's load makes them, but while
        they are worked through the count falls; an event nothing re-drives
        is never processed."""
        left = self.pending()
        deadline = time.monotonic() + stalled_after
        while left:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{left} stored events not processed,"
                    f" none of them in the last {stalled_after:g}s"
                )
            time.sleep(0.2)
            now_left = self.pending()
            if now_left < left:
                deadline = time.monotonic() + stalled_after
            left = now_left

    def counts(self) -> dict[str, int]:
        """Events stored and processed, alerts, incidents, and the keys they hold."""
        queries = {
            "stored": "SELECT count(*) FROM incidents_alertevent",
            "stored_keys": "SELECT count(DISTINCT dedup_key) FROM incidents_alertevent",
            "processed": "SELECT count(*) FROM incidents_alertevent"
            " WHERE processed_at IS NOT NULL AND incident_id IS NOT NULL",
            "alerts": "SELECT count(*) FROM incidents_alert",
            "alert_keys": "SELECT count(DISTINCT (integration_id, dedup_key))"
            " FROM incidents_alert",
            "incidents": "SELECT count(*) FROM incidents_incident",
            "alerted_incidents": "SELECT count(DISTINCT incident_id)"
            " FROM incidents_alert",
        }
        return {name: int(self.scalar(sql)) for name, sql in queries.items()}

    def assert_came_through(self, accepted: set[str]) -> None:
        """Each accepted key stored once and made one alert and one incident,
        nothing else stored; the worker and beat the same processes as before."""
        assert self.stored_keys() == accepted
        assert self.counts() == dict.fromkeys(
            ["stored", "stored_keys", "processed", "alerts", "alert_keys",
             "incidents", "alerted_incidents"],
            len(accepted),
        )  # fmt: skip
        assert self.same_processes() == self.pids
        assert len(self.pids) == 2

    def stored_keys(self) -> set[str]:
        rows = self.scalar(
            "SELECT coalesce(json_agg(dedup_key), '[]') FROM incidents_alertevent"
        )
        return set(rows)


def _show_logs(var_dir: Path) -> None:
    for log in sorted(var_dir.glob("*.log")):
        print(f"--- last lines of {log.name} ---\n{log_tail(log, 60)}")


@contextmanager
def vigil_stack(
    database_url: str, broker_url: str, var_dir: Path, integrations: int
) -> Iterator[VigilStack]:
    """Migrate the database, create `integrations` keys, start Vigil; stop after."""
    env = vigil_env(database_url, broker_url, var_dir)
    env.update(DJANGO_SETTINGS_MODULE="config.settings", LOG_LEVEL="INFO")
    manage(env, "migrate", "--no-input")
    created = json.loads(
        manage(env, "shell", "-c", SETUP_SCRIPT.replace("COUNT", str(integrations)))
        .strip()
        .splitlines()[-1]
    )
    stack = Stack(database_url, broker_url, env, var_dir)
    vigil = VigilStack(stack, created["keys"], created["token"])
    with ExitStack() as cleanup:
        cleanup.callback(lambda: stop(stack.gunicorn))
        cleanup.callback(lambda: stop(stack.worker))
        cleanup.callback(lambda: stop(vigil.beat))
        try:
            start_worker(stack, QUEUES, WORKER_CONCURRENCY, loglevel="INFO")
            vigil.beat = spawn_beat(stack.env, var_dir)
            start_gunicorn(stack, WEB_WORKERS)
            vigil.pids = vigil.same_processes()
            yield vigil
        except BaseException:
            _show_logs(var_dir)
            raise
