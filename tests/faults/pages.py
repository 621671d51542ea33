"""What the process-fault tests share: a page receiver, and counting pages.

Pages go to a real local HTTP server (one path per person); each webhook
carries `X-Vigil-Delivery`, so every arrival is matched to its delivery row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db.models import QuerySet

from notifications.models import Delivery
from tests.live import Process
from tests.notifications.servers import HTTPReceiver

# Workers and beat send pages to the local receiver, and take back a page
# a killed worker left in "sending" after 5 s rather than 2 minutes.
ENV = {"VIGIL_OUTBOUND_ALLOWLIST": "127.0.0.1/32", "VIGIL_DELIVERY_LEASE_SECONDS": "5"}
AGAIN = "may arrive twice"


@pytest.fixture
def receiver() -> Iterator[HTTPReceiver]:
    """Answers 200 to every page, on every path."""
    server = HTTPReceiver(keep_alive=True).start()
    yield server
    server.stop()


@dataclass(frozen=True)
class Pages:
    sent: int  # delivery rows, every one sent
    arrived: int  # requests at the receiver
    again: int  # rows a killed worker had in flight, sent again by the recovery


def sent_once_each(deliveries: QuerySet[Delivery], receiver: HTTPReceiver) -> Pages:
    """Assert every delivery was sent and arrived once: no page lost, none doubled.

    The one exception is the documented one: a page a killed worker was
    sending when it died is sent again by the recovery sweep, noted so on
    its row, and may have arrived twice (the receiver can drop the copy by
    its `X-Vigil-Delivery`).
    """
    rows = list(deliveries.values_list("pk", "status", "notes"))
    arrived = Counter(int(r.headers["X-Vigil-Delivery"]) for r in receiver.requests)
    assert [pk for pk, status, _ in rows if status != Delivery.Status.SENT] == []
    assert set(arrived) == {pk for pk, _, _ in rows}
    wrong = {
        pk: arrived[pk]
        for pk, _, notes in rows
        if arrived[pk] not in ((1, 2) if AGAIN in notes else (1,))
    }
    assert wrong == {}, "deliveries that arrived a wrong number of times"
    again = sum(AGAIN in notes for _, _, notes in rows)
    return Pages(sent=len(rows), arrived=sum(arrived.values()), again=again)


def running(processes: list[Process], task: str) -> Process | None:
    """Return a worker that has started `task` and not finished it, if any."""
    started = re.compile(rf"{re.escape(task)}\[([0-9a-f-]+)\] received")
    ended = re.compile(rf"{re.escape(task)}\[([0-9a-f-]+)\] (?:succeeded|retry|raised)")
    for process in processes:
        if process.popen.poll() is not None:
            continue
        text = process.log.read_text()
        if set(started.findall(text)) - set(ended.findall(text)):
            return process
    return None


def handled(processes: list[Process], task: str) -> int:
    """Return how many runs of `task` the processes finished, by their logs."""
    ended = re.compile(rf"{re.escape(task)}\[[0-9a-f-]+\] succeeded")
    return sum(len(ended.findall(p.log.read_text())) for p in processes)
