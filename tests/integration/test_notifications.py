"""Pages through RabbitMQ and real workers: duplicates, races, kill -9.

The receiving end is a real local HTTP server; what it counts is what a
responder's phone or chat would have shown.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from incidents.models import Incident
from notifications.models import ContactMethod, Delivery, Kind
from notifications.services import page_user
from notifications.tasks import deliveries_recover_task, deliveries_send_task
from notifications.timeline_kinds import NOTIFICATION_SENT
from tests.factories import declare, webhook_channels
from tests.live import Process, start_worker, wait_until
from tests.notifications.servers import Answer, HTTPReceiver

HOOK = "/page"
CHANNELS = 5
ENV = {"VIGIL_OUTBOUND_ALLOWLIST": "127.0.0.1/32", "VIGIL_DELIVERY_LEASE_SECONDS": "5"}


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    server = HTTPReceiver(keep_alive=True).start()
    server.answer(HOOK, Answer(200, "ok"))
    yield server
    server.stop()


def more(workers: list[Process], tmp_path: Path) -> Process:
    process = start_worker(tmp_path / f"worker-{len(workers)}.log", **ENV)
    workers.append(process)
    return process


def paged(service, user, receiver: HTTPReceiver) -> Delivery:
    ContactMethod.objects.create(
        user=user,
        kind=Kind.WEBHOOK,
        address=receiver.url(HOOK),
        secret="k",
        verified_at=timezone.now(),
    )
    incident: Incident = declare(service, "P0")
    (delivery,) = page_user(incident=incident, user=user, event_key="L1")
    return delivery


def status_of(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


def test_duplicate_messages_and_racing_workers_page_once(
    workers, tmp_path, service, responder, receiver
):
    more(workers, tmp_path)
    more(workers, tmp_path)
    delivery = paged(service, responder, receiver)  # enqueued once on commit

    for _ in range(10):  # the same message delivered again and again
        deliveries_send_task.delay(delivery_ids=[delivery.pk])

    wait_until(lambda: status_of(delivery) == Delivery.Status.SENT, "the page sent")
    wait_until(
        lambda: sum(w.log.read_text().count("succeeded") for w in workers) >= 11,
        "every copy of the task handled",
    )
    assert len(receiver.requests_to(HOOK)) == 1
    assert sum(w.log.read_text().count("'skipped'") for w in workers) == 10


def test_a_worker_killed_mid_send_leaves_a_page_that_is_sent_again(
    workers, tmp_path, service, responder, receiver
):
    # The provider takes the request and is slow to answer: the worker is
    # killed while it waits, so whether the page arrived is unknown to Vigil.
    receiver.answer(HOOK, Answer(200, "ok", delay=20), Answer(200, "ok"))
    doomed = more(workers, tmp_path)
    delivery = paged(service, responder, receiver)
    wait_until(lambda: receiver.requests_to(HOOK), "the provider to get the page")

    os.kill(doomed.popen.pid, signal.SIGKILL)
    doomed.popen.wait(timeout=10)
    assert status_of(delivery) == Delivery.Status.SENDING

    survivor = more(workers, tmp_path)
    # RabbitMQ hands the killed worker's message to the survivor, which
    # finds the row claimed and leaves it to the recovery sweep.
    survivor.wait_for("'skipped'", seconds=30)
    wait_until(
        lambda: deliveries_recover_task.delay() and status_of(delivery) == "sent",
        "the recovery sweep to send it again",
        seconds=40,
        every=2,
    )

    requests = receiver.requests_to(HOOK)
    assert len(requests) == 2  # at least once: the documented duplicate
    assert {r.headers["X-Vigil-Delivery"] for r in requests} == {str(delivery.pk)}
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert "may arrive twice" in delivery.notes


def told(service, receiver: HTTPReceiver) -> tuple[Incident, list[int]]:
    """Declare an incident to the service's channels (sent on commit)."""
    webhook_channels(service, receiver.url, CHANNELS)
    incident = declare(service, "P0")
    ids = incident.deliveries.order_by("id").values_list("pk", flat=True)
    return incident, list(ids)


def sends_handled(workers: list[Process]) -> int:
    return sum(
        line.count("succeeded")
        for w in workers
        for line in w.log.read_text().splitlines()
        if "deliveries_send_task" in line
    )


def test_duplicate_messages_and_racing_workers_tell_each_channel_once(
    workers, tmp_path, service, receiver
):
    more(workers, tmp_path)
    more(workers, tmp_path)
    incident, ids = told(service, receiver)  # enqueued once on commit

    for _ in range(10):  # the same message delivered again and again
        deliveries_send_task.delay(delivery_ids=ids)

    wait_until(
        lambda: Delivery.objects.filter(pk__in=ids, status="sent").count() == CHANNELS,
        "every channel told",
    )
    wait_until(lambda: sends_handled(workers) >= 11, "every copy of the task handled")
    paths = sorted(r.path for r in receiver.requests)
    assert paths == [f"/c{i}" for i in range(CHANNELS)]
    # Each delivery on the timeline once (racing claims may split them
    # between two entries, each naming its own channels).
    entries = incident.timeline.filter(kind=NOTIFICATION_SENT)
    told_of = [d["delivery"] for e in entries for d in e.data["deliveries"]]
    assert sorted(told_of) == ids


def test_a_worker_killed_mid_batch_leaves_its_channels_to_the_recovery_sweep(
    workers, tmp_path, service, receiver
):
    # The batch claims its channels together, then hangs on the first; the
    # worker is killed: the one in flight may have arrived, the others not.
    receiver.answer("/c0", Answer(200, "ok", delay=20), Answer(200, "ok"))
    doomed = more(workers, tmp_path)
    incident, ids = told(service, receiver)
    wait_until(lambda: receiver.requests_to("/c0"), "the first channel to get it")

    os.kill(doomed.popen.pid, signal.SIGKILL)
    doomed.popen.wait(timeout=10)
    statuses = Delivery.objects.filter(pk__in=ids).values_list("status", flat=True)
    assert set(statuses) == {Delivery.Status.SENDING}

    survivor = more(workers, tmp_path)
    survivor.wait_for("'skipped'", seconds=30)  # the redelivered message
    wait_until(
        lambda: (
            deliveries_recover_task.delay()
            and Delivery.objects.filter(pk__in=ids, status="sent").count() == CHANNELS
        ),
        "the recovery sweep to send them",
        seconds=40,
        every=2,
    )

    counts = {f"/c{i}": len(receiver.requests_to(f"/c{i}")) for i in range(CHANNELS)}
    assert counts == {"/c0": 2, **{f"/c{i}": 1 for i in range(1, CHANNELS)}}
    assert all(
        "may arrive twice" in notes
        for notes in Delivery.objects.filter(pk__in=ids).values_list("notes", flat=True)
    )
    entries = incident.timeline.filter(kind=NOTIFICATION_SENT)
    told_of = [d["delivery"] for e in entries for d in e.data["deliveries"]]
    assert sorted(told_of) == ids
