"""An escalation climbing on RabbitMQ with real worker and beat processes.

The levels wait 5 seconds each; the pages arrive at a real local HTTP server,
one path per person, so it counts exactly what each phone would have shown.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from escalation.models import EscalationPolicy, EscalationStep
from incidents.models import Service, Team
from notifications.models import ContactMethod, Kind
from tests.escalation.conftest import add_level, user_target
from tests.factories import MembershipFactory, declare
from tests.live import (
    Process,
    database_url,
    start_worker,
    wait_until,
)
from tests.notifications.servers import Answer, HTTPReceiver

ENV = {"VIGIL_OUTBOUND_ALLOWLIST": "127.0.0.1/32"}
PEOPLE = ("oncall", "lead", "commander")


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    server = HTTPReceiver().start()
    for name in PEOPLE:
        server.answer(f"/{name}", Answer(200, "ok"))
    yield server
    server.stop()


def start_beat(log: Path) -> Process:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        **ENV,
    }
    process = Process(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
         "--schedule", str(log.with_suffix(".db"))],
        env,
        log,
    )  # fmt: skip
    process.wait_for("beat: Starting")
    return process


def policy_of_three(team: Team, receiver: HTTPReceiver) -> EscalationPolicy:
    policy = EscalationPolicy.objects.create(name="Every 5 s", team=team)
    for position, name in enumerate(PEOPLE, start=1):
        user: User = MembershipFactory(team=team, user__username=name).user
        ContactMethod.objects.create(
            user=user,
            kind=Kind.WEBHOOK,
            address=receiver.url(f"/{name}"),
            secret="k",
            verified_at=timezone.now(),
        )
        add_level(policy, position, name, user_target(user), delay=timedelta(seconds=5))
    return policy


def test_an_unacknowledged_incident_climbs_once_through_a_worker_restart(
    workers, tmp_path, service: Service, team, receiver
):
    service.escalation_policy = policy_of_three(team, receiver)
    service.save()
    worker = start_worker(tmp_path / "worker-1.log", **ENV)
    workers.append(worker)
    workers.append(start_beat(tmp_path / "beat.log"))

    incident = declare(service, "P2")
    wait_until(lambda: receiver.requests_to("/oncall"), "level 1's page", seconds=30)
    # Mid-wait, the worker dies holding level 2's ETA message; RabbitMQ gives
    # it to the next worker, and the sweep would fire it anyway.
    os.kill(worker.popen.pid, signal.SIGKILL)
    worker.popen.wait(timeout=10)
    workers.append(start_worker(tmp_path / "worker-2.log", **ENV))

    wait_until(lambda: receiver.requests_to("/commander"), "level 3", seconds=60)
    steps = EscalationStep.objects.filter(escalation__incident=incident)
    wait_until(
        lambda: steps.filter(outcome="paged").count() == 3, "three steps", seconds=10
    )
    # Long enough for any duplicate (a redelivered ETA message, a racing
    # sweep) to have arrived.
    workers[-1].wait_for("escalation.tasks.escalations_sweep_task", seconds=10)
    wait_until(
        lambda: (
            sum(p.log.read_text().count("escalations_sweep_task") for p in workers) > 10
        ),
        "ten more sweeps",
        seconds=30,
    )
    assert {name: len(receiver.requests_to(f"/{name}")) for name in PEOPLE} == {
        name: 1 for name in PEOPLE
    }
    fired = list(steps.order_by("level"))
    assert [s.level for s in fired] == [1, 2, 3]
    assert [s.users for s in fired] == [[name] for name in PEOPLE]
    # Each level waited its 5 seconds after the one before it fired.
    for before, after in itertools.pairwise(fired):
        assert after.due_at == before.fired_at + timedelta(seconds=5)
    assert incident.timeline.filter(kind="escalated").count() == 3
