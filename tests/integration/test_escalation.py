"""An escalation climbing on RabbitMQ with real worker and beat processes.

The levels wait 5 seconds each; the pages arrive at a real local HTTP server,
one path per person, so it counts exactly what each phone would have shown.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from datetime import timedelta

import pytest

from escalation.models import EscalationStep
from incidents.models import Service
from tests.escalation.conftest import webhook_policy
from tests.factories import declare
from tests.live import start_beat, start_worker, wait_until
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


def test_an_unacknowledged_incident_climbs_once_through_a_worker_restart(
    workers, tmp_path, service: Service, team, receiver
):
    service.escalation_policy = webhook_policy(
        team, receiver.url, *[(name,) for name in PEOPLE], delay=timedelta(seconds=5)
    )
    service.save()
    worker = start_worker(tmp_path / "worker-1.log", **ENV)
    workers.append(worker)
    workers.append(start_beat(tmp_path / "beat.log", **ENV))

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
