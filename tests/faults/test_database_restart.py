"""PostgreSQL stopped and started again under Vigil in its production shape.

Web (gunicorn, persistent connections), worker and beat run on a PostgreSQL
server of the test's own. While it is down, ingest answers 503 with a
Retry-After and stores nothing, so the sender retries; once it is back,
every process carries on without a restart and every event accepted before
the outage is processed exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.services import PrivatePostgres, PrivateRabbitMQ
from tests.faults.stack import Answer, VigilStack, vigil_stack

INTEGRATIONS = 2
# Long enough for the worker's retries and two of beat's ingest sweeps to
# meet the outage.
OUTAGE_SECONDS = 20


@pytest.fixture
def vigil(
    private_postgres: PrivatePostgres,
    private_rabbitmq: PrivateRabbitMQ,
    tmp_path: Path,
) -> Iterator[VigilStack]:
    name = f"vigil_faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(private_postgres.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    database_url = private_postgres.url(name)
    broker_url = private_rabbitmq.vhost(name)
    with vigil_stack(database_url, broker_url, tmp_path, INTEGRATIONS) as vigil:
        yield vigil


def alerts(vigil: VigilStack, phase: str, count: int) -> list[Answer]:
    answers: list[Answer] = []
    for n, key in enumerate(vigil.keys):
        answers += vigil.trigger(key, [f"{phase}-{n}-{i}" for i in range(count // 2)])
    return answers


def refused(answers: list[Answer]) -> list[Answer]:
    """The answers that were not a PagerDuty-style 503 asking for a retry."""
    wrong = []
    for answer in answers:
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        if not (
            answer.status == 503
            and answer.retry_after is not None
            and answer.retry_after.isdigit()
            and isinstance(body, dict)
            and body.get("status") == "unavailable"
        ):
            wrong.append(answer)
    return wrong


def test_ingest_answers_503_while_the_database_is_down_and_recovers_after(
    vigil: VigilStack, private_postgres: PrivatePostgres
):
    before = alerts(vigil, "before", 300)
    assert {answer.status for answer in before} == {202}
    # Stopped at once: the worker is still turning the burst into incidents.
    private_postgres.stop()

    outage_ends = time.monotonic() + OUTAGE_SECONDS
    during = alerts(vigil, "during", 40)
    api = vigil.api("/api/v1/incidents/")
    time.sleep(max(0.0, outage_ends - time.monotonic()))
    during += alerts(vigil, "late", 10)
    private_postgres.start()
    after = alerts(vigil, "after", 200)

    assert refused(during) == []
    assert max(answer.seconds for answer in during) < 5
    assert api.status_code == 503, api.text[:300]
    assert api.headers["Content-Type"] == "application/json"
    assert api.headers["Retry-After"].isdigit()
    assert {answer.status for answer in after} == {202}

    # A restart with no request in between: every web process still holds
    # a connection from before, which it must notice is dead and replace.
    vigil.wait_settled()
    private_postgres.stop()
    private_postgres.start()
    bounced = alerts(vigil, "bounced", 100)
    assert {answer.status for answer in bounced} == {202}

    vigil.wait_settled()
    accepted = {answer.dedup_key for answer in before + after + bounced}
    vigil.assert_came_through(accepted)  # nothing stored for a 503
