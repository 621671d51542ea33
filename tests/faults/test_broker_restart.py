"""RabbitMQ stopped and started again in the middle of an alert storm.

Vigil in its production shape (gunicorn, a worker, beat) on a scratch
database and a RabbitMQ node of the test's own. The request path writes the
event row and only then publishes, so while the broker is down an alert is
still accepted (202) and stored; the beat sweep re-drives it once the broker
is back. Nothing is restarted but the broker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.faults.services import PrivateRabbitMQ
from tests.faults.stack import Answer, VigilStack, vigil_stack
from tests.live import database_url, scratch_database_named

STORM = 2  # integrations the storm's alerts are spread over
PROBES = 10  # integrations whose first alert arrives while the broker is down
# A request must not hang on a dead broker: the publish gives up at once.
OUTAGE_LATENCY_LIMIT = 2.0


@pytest.fixture
def vigil(private_rabbitmq: PrivateRabbitMQ, tmp_path: Path) -> Iterator[VigilStack]:
    broker_url = private_rabbitmq.vhost(f"broker_restart_{uuid.uuid4().hex[:8]}")
    with (
        scratch_database_named("vigil_faults") as name,
        vigil_stack(database_url(name), broker_url, tmp_path, STORM + PROBES) as v,
    ):
        yield v


def storm(vigil: VigilStack, phase: str, count: int) -> list[Answer]:
    """Send `count` alerts, each with a dedup key of its own, round the storm."""
    answers: list[Answer] = []
    for n, key in enumerate(vigil.keys[:STORM]):
        keys = [f"{phase}-{n}-{i}" for i in range(count // STORM)]
        answers += vigil.trigger(key, keys)
    return answers


def test_alerts_sent_across_a_broker_restart_are_each_stored_and_paged_once(
    vigil: VigilStack, private_rabbitmq: PrivateRabbitMQ
):
    before = storm(vigil, "before", 400)
    private_rabbitmq.stop()
    # The probes' integrations have nothing pending, so their requests are
    # the ones that try to publish on the dead broker.
    probes = [
        answer
        for n, key in enumerate(vigil.keys[STORM:])
        for answer in vigil.trigger(key, [f"probe-{n}"])
    ]
    during = probes + storm(vigil, "during", 200)
    with ThreadPoolExecutor(max_workers=1) as pool:
        restart = pool.submit(private_rabbitmq.start)
        during += storm(vigil, "restarting", 190)
        restart.result()
    after = storm(vigil, "after", 200)
    answers = before + during + after
    assert len(answers) == 1000

    statuses = {answer.status for answer in answers}
    assert statuses == {202}, [a for a in answers if a.status != 202][:5]
    slowest = max(answer.seconds for answer in during)
    assert slowest < OUTAGE_LATENCY_LIMIT, slowest

    vigil.wait_settled()
    # The worker and beat came through the outage on their own.
    vigil.assert_came_through({a.dedup_key for a in answers if a.status == 202})
