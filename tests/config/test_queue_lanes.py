"""Which queue each piece of work waits in, read from the embedded broker's
own message files: a page never queues behind channel messages, a P0's page
goes before a P3's, and a storm's backlog never queues ahead of another
integration's new alert."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from incidents.models import AlertEvent
from incidents.services import integration_create
from incidents.services.alerts import BATCH, alert_events_process
from incidents.tasks import ingest_recover_task
from notifications.services import page_user
from tests.factories import (
    declare,
    stored_triggers,
    webhook_channels,
    webhook_contact,
)
from tests.incidents.ingest_helpers import fixture, post_json

pytestmark = pytest.mark.skipif(
    not django_settings.CELERY_BROKER_URL.startswith("filesystem://"),
    reason="reads the embedded broker's message files",
)


Sent = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def sent() -> Iterator[Sent]:
    """What was published since the test started, oldest first: each
    message's queue, task, priority and keyword arguments."""
    folder = Path(django_settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    before = set(folder.glob("*.msg"))

    def new() -> list[dict[str, Any]]:
        out = []
        for path in sorted(set(folder.glob("*.msg")) - before):
            message = json.loads(path.read_text())
            if "task" in message.get("headers", {}):  # not a live event
                out.append(_read(path.name, message))
        return out

    yield new
    for path in set(folder.glob("*.msg")) - before:
        path.unlink(missing_ok=True)


def _read(name: str, message: dict[str, Any]) -> dict[str, Any]:
    _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return {
        "queue": name.split(".")[1],  # <time>_<uuid>.<queue>.msg
        "task": message["headers"]["task"].rsplit(".", 1)[-1],
        "priority": message["properties"].get("priority"),
        "kwargs": kwargs,
    }


def test_pages_go_to_their_own_queue_by_severity_and_channel_messages_apart(
    service, responder, sent, django_capture_on_commit_callbacks
):
    webhook_contact(responder, "http://127.0.0.1:9/responder")
    webhook_channels(service, lambda path: f"http://127.0.0.1:9{path}", 2)
    with django_capture_on_commit_callbacks(execute=True):
        minor = declare(service, "P3", title="Slow search")
        major = declare(service, "P0", title="Checkout down")
        page_user(incident=minor, user=responder, event_key="by-hand")
        page_user(incident=major, user=responder, event_key="by-hand")

    sends = [m for m in sent() if m["task"] == "deliveries_send_task"]
    pages = [(m["queue"], m["priority"]) for m in sends if m["queue"] == "pages"]
    told = [m for m in sends if m["queue"] == "notifications"]
    assert sorted(pages) == [("pages", 3), ("pages", 9)]
    assert [m["priority"] for m in told] == [0, 0]  # one per declaration
    assert sum(len(m["kwargs"]["delivery_ids"]) for m in told) == 4


def test_a_new_alert_waits_on_ingest_and_a_backlog_re_driven_on_ingest_backlog(
    service, sent, django_capture_on_commit_callbacks
):
    quiet, key = integration_create(name="Quiet", kind="pagerduty", service=service)
    stuck, _ = integration_create(name="Stuck", kind="generic", service=service)
    AlertEvent.objects.create(
        integration=stuck,
        service=service,
        source=AlertEvent.Source.GENERIC,
        action="trigger",
        dedup_key="disk",
        payload={"title": "disk"},
        received_at=timezone.now() - timedelta(minutes=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        body = fixture("pagerduty-trigger.json") | {"routing_key": key}
        assert post_json("/v2/enqueue", body).status_code == 202
    ingest_recover_task()

    assert [(m["queue"], m["kwargs"]) for m in sent()] == [
        ("ingest", {"integration_id": quiet.pk}),
        ("ingest_backlog", {"integration_id": stuck.pk}),
    ]


def test_only_a_pass_whose_last_batch_was_full_counts_as_a_backlog(service):
    integration = stored_triggers(service, ["disk"] * (1 + BATCH + BATCH // 2))

    def out_of_time() -> tuple[int, bool, bool]:
        done = alert_events_process(integration_id=integration.pk, seconds=0)
        return done.applied, done.more, done.backlog

    assert out_of_time() == (1, True, True)  # a declaration ends its batch
    assert out_of_time() == (BATCH, True, True)
    assert out_of_time() == (BATCH // 2, True, False)
    assert out_of_time() == (0, False, False)
