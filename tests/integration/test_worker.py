"""A task's effect in the database, end to end through RabbitMQ and a worker."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from incidents.models import TimelineEvent
from incidents.tasks import incident_targets_sweep_task
from incidents.timeline_kinds import ACK_TARGET_MISSED
from tests.factories import declare
from tests.live import start_worker


def wait_for_events(
    incident_id: int, kind: str, count: int, seconds: float = 30
) -> int:
    deadline = time.monotonic() + seconds
    found = 0
    while time.monotonic() < deadline:
        found = TimelineEvent.objects.filter(incident_id=incident_id, kind=kind).count()
        if found >= count:
            return found
        time.sleep(0.2)
    return found


def test_the_sweep_runs_in_a_real_worker_and_records_a_miss_once(worker, service):
    late = timezone.now() - timedelta(minutes=20)
    incident = declare(service, "P0", detected_at=late, started_at=late)
    fresh = declare(service, "P0")

    for _ in range(3):  # the same work delivered three times
        incident_targets_sweep_task.delay()

    assert wait_for_events(incident.pk, ACK_TARGET_MISSED, 1) == 1
    worker.wait_for("succeeded", seconds=30)
    text = worker.wait_for("incident_targets_sweep_task")
    deadline = time.monotonic() + 30
    while text.count("succeeded") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        text = worker.log.read_text()
    assert text.count("succeeded") == 3, text[-3000:]
    assert TimelineEvent.objects.filter(kind=ACK_TARGET_MISSED).count() == 1
    event = incident.timeline.get(kind=ACK_TARGET_MISSED)
    assert event.at == late + timedelta(minutes=15)
    assert not fresh.timeline.filter(kind=ACK_TARGET_MISSED).exists()


def sessions_opened(database: str) -> int:
    """Connections ever opened to `database` (PostgreSQL's statistics)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [database]
        )
        return int(cursor.fetchone()[0])


def test_a_worker_reuses_its_database_connection_from_task_to_task(workers, tmp_path):
    """With DATABASE_CONN_MAX_AGE, as for web processes: 20 tasks, one
    connection (Celery's Django fix-up alone would open one per task)."""
    database = connection.settings_dict["NAME"]
    worker = start_worker(tmp_path / "worker.log", DATABASE_CONN_MAX_AGE="60")
    workers.append(worker)
    incident_targets_sweep_task.delay()
    worker.wait_for("succeeded")
    time.sleep(1)  # the statistics are written in the background
    before = sessions_opened(database)

    for _ in range(20):
        incident_targets_sweep_task.delay()
    deadline = time.monotonic() + 30
    while worker.log.read_text().count("succeeded") < 21:
        assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
        time.sleep(0.2)
    time.sleep(1)

    assert sessions_opened(database) - before <= 1  # this test's own, if any
