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
from tests.factories import declare
from tests.integration.conftest import Process, start_worker, wait_until
from tests.notifications.servers import Answer, HTTPReceiver

HOOK = "/page"
ENV = {"VIGIL_OUTBOUND_ALLOWLIST": "127.0.0.1/32", "VIGIL_DELIVERY_LEASE_SECONDS": "5"}


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    server = HTTPReceiver().start()
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
