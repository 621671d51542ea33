"""Sending a batch: who is claimed when, one timeline entry per message, reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from incidents import live
from incidents.models import Incident, Service
from notifications.models import Delivery
from notifications.services import (
    deliveries_recover,
    deliveries_send,
    messages,
    notify,
    page_user,
    sending,
)
from notifications.services.reporting import deliveries_report
from notifications.tasks import deliveries_send_task
from notifications.timeline_kinds import NOTIFICATION_FAILED, NOTIFICATION_SENT
from tests.factories import declare, webhook_channels, webhook_contact
from tests.notifications.servers import Answer, HTTPReceiver

S = Delivery.Status
SENT = NOTIFICATION_SENT
FAILED = NOTIFICATION_FAILED


@pytest.fixture
def hook(http_receiver: HTTPReceiver, allow_loopback: None) -> HTTPReceiver:
    return http_receiver


def told(
    service: Service, hook: HTTPReceiver, count: int
) -> tuple[Incident, list[int]]:
    """Declare an incident to `count` channels; return it and its deliveries."""
    webhook_channels(service, hook.url, count)
    incident = declare(service, "P1")
    return incident, list(
        incident.deliveries.order_by("id").values_list("pk", flat=True)
    )


def test_a_channel_message_is_one_timeline_entry_and_one_live_event(
    service, hook, monkeypatch, django_capture_on_commit_callbacks
):
    incident, ids = told(service, hook, 3)
    published: list[dict[str, Any]] = []
    monkeypatch.setattr(live, "_publish", published.append)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = deliveries_send(delivery_ids=ids)

    assert outcomes == ["sent", "sent", "sent"]
    (event,) = incident.timeline.filter(kind__in=[SENT, FAILED])
    assert event.message == "Initial notification sent to #c0, #c1, #c2"
    assert [d["delivery"] for d in event.data["deliveries"]] == ids
    assert [d["to"] for d in event.data["deliveries"]] == ["#c0", "#c1", "#c2"]
    assert [payload["event"]["id"] for payload in published] == [event.pk]


def test_the_channels_that_failed_are_named_with_why_on_an_entry_of_their_own(
    service, hook
):
    hook.answer("/c1", Answer(400, "no such channel"))
    hook.answer("/c3", Answer(404, "gone"))
    incident, ids = told(service, hook, 4)

    assert deliveries_send(delivery_ids=ids) == ["sent", "failed", "sent", "failed"]

    sent = incident.timeline.get(kind=SENT)
    assert sent.message == "Initial notification sent to #c0, #c2"
    failed = incident.timeline.get(kind=FAILED)
    assert failed.message == (
        "Initial notification to 2 destinations failed: "
        "#c1: 127.0.0.1 answered HTTP 400 Bad Request.; "
        "#c3: 127.0.0.1 answered HTTP 404 Not Found."
    )
    assert [d["delivery"] for d in failed.data["deliveries"]] == [ids[1], ids[3]]


def test_a_batch_claims_its_channel_deliveries_together_before_it_sends(service, hook):
    _incident, ids = told(service, hook, 3)

    deliveries_send(delivery_ids=ids)

    rows = list(Delivery.objects.filter(pk__in=ids))
    (claimed_at,) = {row.claimed_at for row in rows}
    assert claimed_at is not None
    assert claimed_at < min(row.sent_at for row in rows if row.sent_at)
    assert {(row.status, row.attempts) for row in rows} == {(S.SENT, 1)}


def test_a_channel_delivery_someone_else_claimed_is_not_sent_again(service, hook):
    _incident, ids = told(service, hook, 3)
    Delivery.objects.filter(pk=ids[1]).update(
        status=S.SENDING, claimed_at=timezone.now()
    )

    assert deliveries_send(delivery_ids=ids) == ["sent", "skipped", "sent"]
    assert deliveries_send(delivery_ids=ids) == ["skipped"] * 3

    assert sorted(request.path for request in hook.requests) == ["/c0", "/c2"]


def test_pages_are_claimed_each_at_its_turn(incident, responder, hook):
    for path in ("/a", "/b"):
        webhook_contact(responder, hook.url(path))
    first, second = page_user(incident=incident, user=responder, event_key="L1")

    deliveries_send(delivery_ids=[first.pk, second.pk])

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.finished_at is not None
    assert second.claimed_at is not None
    assert second.claimed_at >= first.finished_at


def test_a_batch_gives_back_what_it_has_not_reached_in_half_the_lease(
    service, hook, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.VIGIL_DELIVERY_LEASE_SECONDS = 0.4  # sends may start for 0.2 s
    hook.answer("/c0", Answer(200, "ok", delay=0.3))
    _incident, ids = told(service, hook, 3)
    asked: list[list[int]] = []
    monkeypatch.setattr(
        deliveries_send_task, "delay", lambda **kw: asked.append(kw["delivery_ids"])
    )

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = deliveries_send(delivery_ids=ids)

    assert outcomes == ["sent", "requeued", "requeued"]
    rows = Delivery.objects.in_bulk(ids)
    assert [(rows[pk].status, rows[pk].attempts) for pk in ids] == [
        (S.SENT, 1),
        (S.PENDING, 0),
        (S.PENDING, 0),
    ]
    assert asked == [ids[1:]]
    assert [request.path for request in hook.requests] == ["/c0"]


def test_what_a_dead_batch_sent_but_never_reported_is_reported_once_by_the_sweep(
    service, hook, settings
):
    settings.VIGIL_DELIVERY_LEASE_SECONDS = 60
    incident, ids = told(service, hook, 2)
    # What a worker killed between recording and reporting leaves behind; the
    # second row's batch may still be running, so it is not the sweep's yet.
    long_ago = timezone.now() - timedelta(seconds=61)
    Delivery.objects.filter(pk__in=ids).update(
        status=S.SENT, finished_at=long_ago, sent_at=long_ago, report_due=True
    )
    Delivery.objects.filter(pk=ids[1]).update(finished_at=timezone.now())

    deliveries_recover()
    deliveries_recover()

    (event,) = incident.timeline.filter(kind__in=[SENT, FAILED])
    assert event.message == "Initial notification sent to #c0"
    assert list(
        Delivery.objects.filter(report_due=True).values_list("pk", flat=True)
    ) == [ids[1]]


def test_a_batch_does_not_report_again_what_the_sweep_reported_meanwhile(
    service, hook, settings, monkeypatch
):
    incident, ids = told(service, hook, 2)
    later = timedelta(seconds=settings.VIGIL_DELIVERY_LEASE_SECONDS + 1)

    def sweep_first(**kwargs: Any) -> int:
        deliveries_recover(now=timezone.now() + later)  # a slow batch's race
        return deliveries_report(**kwargs)

    monkeypatch.setattr(sending, "deliveries_report", sweep_first)

    deliveries_send(delivery_ids=ids)

    (event,) = incident.timeline.filter(kind__in=[SENT, FAILED])
    assert event.message == "Initial notification sent to #c0, #c1"
    assert not Delivery.objects.filter(report_due=True).exists()


def test_a_channel_message_is_rendered_once_and_each_delivery_keeps_its_id(
    service, hook, monkeypatch
):
    incident, _ = told(service, hook, 3)
    Delivery.objects.all().delete()
    now = timezone.now()
    written = [
        notify(
            incident=incident,
            message_kind="update",
            event_key=key,
            now=now,
            extra={"update": {"text": text}},
        )
        for key, text in (("u1", "Rolled back"), ("u2", "Error rate normal"))
    ]
    ids = [delivery.pk for deliveries in written for delivery in deliveries]
    kinds: list[str] = []
    render = messages.render_message

    def counted(**kwargs: Any) -> Any:
        kinds.append(kwargs["kind"])
        return render(**kwargs)

    monkeypatch.setattr(messages, "render_message", counted)

    assert deliveries_send(delivery_ids=ids) == ["sent"] * 6

    assert kinds == ["update", "update"]  # one per distinct message
    bodies = [request.json for request in hook.requests]
    assert [body["delivery_id"] for body in bodies] == [str(pk) for pk in ids]
    assert ["Rolled back" in body["text"] for body in bodies] == [True] * 3 + [
        False
    ] * 3
    assert all("Error rate normal" in body["text"] for body in bodies[3:])
