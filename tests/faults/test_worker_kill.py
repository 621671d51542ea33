"""`kill -9` of a whole worker (main process and pool) while it pages.

Production's shape: gunicorn sync workers serving ingest, prefork Celery
workers on every queue, and beat, on PostgreSQL and RabbitMQ. A worker dies
at once with everything it had (running tasks, prefetched and ETA messages,
open transactions, a page half sent); a replacement starts. Whatever it was
doing must end up done once: no accepted alert lost, no incident twice, no
page lost, and no page twice except the documented in-flight one, which the
receiver can recognise by its `X-Vigil-Delivery`.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from django.db.models import Count

from escalation.models import Escalation, EscalationStep
from escalation.timeline_kinds import ESCALATED
from incidents.models import Alert, AlertEvent, Incident, TimelineEvent
from incidents.services import integration_create
from incidents.timeline_kinds import ALERT_ATTACHED
from notifications.models import Delivery
from tests.escalation.conftest import webhook_policy
from tests.factories import declare
from tests.faults.pages import (
    ENV,
    handled,
    running,
    sent_once_each,
)
from tests.live import Process, start_beat, start_web, start_worker, wait_until

CONCURRENCY = 4  # as the README runs a worker
KEYS = 300  # distinct dedup keys: one alert, one incident, one page each
REPEATED = 50  # the first keys are sent three times in all
INGEST = "incidents.tasks.ingest_process_task"
# Every key opens and pages an incident of its own: no quota, no flood.
UNTHROTTLED = {
    "VIGIL_INGEST_NEW_ALERTS_PER_MINUTE": "0",
    "VIGIL_FLOOD_INCIDENTS_PER_MINUTE": "0",
}


def start(workers: list[Process], tmp_path: Path, name: str) -> Process:
    process = start_worker(
        tmp_path / f"{name}.log", concurrency=CONCURRENCY, **ENV, **UNTHROTTLED
    )
    workers.append(process)
    return process


def quiet_while(workers: list[Process]) -> None:
    """Give a late copy of anything (a redelivered message, a racing sweep)
    ten beat sweeps' time to arrive."""
    before = handled(workers, "escalations_sweep_task")
    wait_until(
        lambda: handled(workers, "escalations_sweep_task") >= before + 10,
        "ten more sweeps",
        seconds=30,
    )


def storm(url: str, routing_key: str) -> list[str]:
    """POST the storm, 8 requests at a time, in a shuffled order; return the
    dedup keys of the requests answered 202."""
    keys = [f"disk-{n}" for n in range(KEYS)] + [
        f"disk-{n}" for n in range(REPEATED) for _ in range(2)
    ]
    random.Random(7).shuffle(keys)
    with httpx.Client(base_url=url, timeout=30) as client:

        def post(key: str) -> tuple[str, int]:
            body = {
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": key,
                "payload": {
                    "summary": f"Disk full on {key}",
                    "source": key,
                    "severity": "critical",
                },
            }
            return key, client.post("/v2/enqueue", json=body).status_code

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(post, keys))
    assert {status for _, status in answers} == {202}
    return [key for key, status in answers if status == 202]


def test_a_worker_killed_in_an_alert_storm_loses_no_alert_and_doubles_no_page(
    workers, tmp_path, service, team, receiver
):
    service.escalation_policy = webhook_policy(
        team, receiver.url, ("oncall", "backup"), delay=timedelta(hours=1)
    )
    service.save()
    integration, key = integration_create(
        name="Storm", kind="pagerduty", service=service
    )
    web, url = start_web(tmp_path / "web.log", **UNTHROTTLED)
    workers.append(web)
    start(workers, tmp_path, "worker-1")
    start(workers, tmp_path, "worker-2")
    workers.append(start_beat(tmp_path / "beat.log", **ENV))

    with ThreadPoolExecutor(1) as background:
        posted = background.submit(storm, url, key)
        # The worker applying the storm's events dies mid-pass, its batch's
        # transaction open, its pages being sent by the rest of its pool.
        doomed = wait_until(
            lambda: (
                Incident.objects.count() >= KEYS // 5 and running(workers[1:3], INGEST)
            ),
            "a worker applying the storm",
            every=0.05,
        )
        doomed.kill()
        at_kill = (
            Incident.objects.count(),
            Delivery.objects.filter(status=Delivery.Status.SENT).count(),
        )
        start(workers, tmp_path, "worker-3")
        accepted = posted.result(timeout=120)

    def done() -> bool:
        sent = Delivery.objects.filter(status=Delivery.Status.SENT).count()
        return not AlertEvent.objects.filter(processed_at=None).exists() and (
            sent == 2 * KEYS
        )

    wait_until(done, "every event applied and every page sent", seconds=90, every=1)
    assert at_kill[0] < KEYS, "the kill came after the storm was applied"

    assert len(accepted) == KEYS + 2 * REPEATED
    assert AlertEvent.objects.count() == len(accepted)
    assert Incident.objects.count() == KEYS
    alerts = Alert.objects.filter(integration=integration)
    counts = dict(alerts.values_list("dedup_key", "event_count"))
    assert counts == {f"disk-{n}": 3 if n < REPEATED else 1 for n in range(KEYS)}
    assert alerts.values("incident").distinct().count() == KEYS
    assert not AlertEvent.objects.filter(incident=None).exists()
    attached = TimelineEvent.objects.filter(kind=ALERT_ATTACHED)
    assert attached.count() == KEYS

    # Each incident paged its two people once: one step, one page each.
    steps = EscalationStep.objects.all()
    assert steps.count() == KEYS
    assert {tuple(u) for u in steps.values_list("users", flat=True)} == {
        ("oncall", "backup")
    }
    per_incident = Delivery.objects.values("incident").annotate(n=Count("id"))
    assert {row["n"] for row in per_incident} == {2}
    assert per_incident.count() == KEYS
    pages = sent_once_each(Delivery.objects.all(), receiver)
    by_path = {p: len(receiver.requests_to(p)) for p in ("/oncall", "/backup")}
    assert sum(by_path.values()) == pages.arrived
    assert pages.arrived - pages.sent <= pages.again
    quiet_while(workers)
    assert len(receiver.requests) == pages.arrived
    print(f"\nkilled at {at_kill[0]} incidents, {at_kill[1]} pages sent; {pages}")


def test_a_worker_killed_mid_escalation_pages_each_level_once(
    workers, tmp_path, service, team, receiver
):
    """Level 2 of 100 incidents comes due over a few seconds, as ETA messages
    held by the worker and for the beat sweep; the worker dies while firing
    them and sending their pages."""
    incidents = 100
    service.escalation_policy = webhook_policy(
        team,
        receiver.url,
        ("first",),
        ("second", "third"),
        delay=timedelta(seconds=10),
    )
    service.save()
    doomed = start(workers, tmp_path, "worker-1")
    workers.append(start_beat(tmp_path / "beat.log", **ENV))

    declared = [
        declare(service, "P2", title=f"Queue {n} stuck") for n in range(incidents)
    ]
    level_2 = EscalationStep.objects.filter(level=2)
    wait_until(lambda: level_2.count() >= incidents // 10, "level 2 firing", every=0.05)
    doomed.kill()
    at_kill = (
        level_2.count(),
        Delivery.objects.filter(
            status=Delivery.Status.SENT, user__username__in=("second", "third")
        ).count(),
    )
    start(workers, tmp_path, "worker-2")

    sent = Delivery.objects.filter(status=Delivery.Status.SENT)
    wait_until(
        lambda: sent.count() == 3 * incidents, "every page sent", seconds=90, every=1
    )
    assert at_kill[0] < incidents, "the kill came after level 2 had fired"

    for level, users in ((1, ["first"]), (2, ["second", "third"])):
        fired = EscalationStep.objects.filter(level=level)
        assert fired.count() == incidents
        assert fired.values("escalation").distinct().count() == incidents
        assert set(fired.values_list("outcome", flat=True)) == {"paged"}
        assert {tuple(u) for u in fired.values_list("users", flat=True)} == {
            tuple(users)
        }
    assert EscalationStep.objects.count() == 2 * incidents
    assert set(Escalation.objects.values_list("state", flat=True)) == {"exhausted"}
    escalated = TimelineEvent.objects.filter(kind=ESCALATED)
    assert escalated.count() == 2 * incidents
    per_person = Delivery.objects.values("incident", "user").annotate(n=Count("id"))
    assert per_person.count() == 3 * incidents
    assert {row["n"] for row in per_person} == {1}
    assert {row["incident"] for row in per_person} == {i.pk for i in declared}
    pages = sent_once_each(Delivery.objects.all(), receiver)
    quiet_while(workers)
    assert len(receiver.requests) == pages.arrived
    print(f"\nkilled at {at_kill[0]} level-2 steps, {at_kill[1]} pages; {pages}")
