"""The delivery log: written first, claimed once, retried, recovered, bundled."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.models import Incident
from incidents.services import incident_acknowledge
from notifications.models import ContactMethod, Delivery, Kind, NotificationRule
from notifications.services import (
    deliveries_dispatch_due,
    deliveries_recover,
    delivery_retry,
    delivery_send,
    page_user,
)
from notifications.timeline_kinds import NOTIFICATION_FAILED, NOTIFICATION_SENT
from notifications.transports.webhook import verify_signature
from tests.notifications.servers import Answer, HTTPReceiver

S = Delivery.Status
HOOK = "/hook"


@pytest.fixture
def hook(http_receiver: HTTPReceiver, allow_loopback: None) -> HTTPReceiver:
    http_receiver.answer(HOOK, Answer(200, "ok"))
    return http_receiver


def contact(
    user: User, receiver: HTTPReceiver, path: str = HOOK, **kw: object
) -> ContactMethod:
    return ContactMethod.objects.create(
        user=user,
        kind=Kind.WEBHOOK,
        address=receiver.url(path),
        secret="s3cret",
        verified_at=timezone.now(),
        **kw,  # type: ignore[arg-type]
    )


def page(incident: Incident, user: User, key: str = "step-1") -> list[Delivery]:
    return page_user(incident=incident, user=user, event_key=key)


def test_a_page_is_a_pending_row_before_anything_is_sent(incident, responder, hook):
    contact(responder, hook)

    (delivery,) = page(incident, responder)

    assert delivery.status == S.PENDING
    assert delivery.stops_on_ack
    assert hook.requests == []


def test_paging_twice_for_the_same_event_writes_one_delivery(incident, responder, hook):
    contact(responder, hook)

    first = page(incident, responder)
    second = page(incident, responder)

    assert [d.pk for d in first] == [d.pk for d in second]
    assert Delivery.objects.filter(purpose="page").count() == 1


def test_a_delivery_is_sent_once_however_often_its_task_runs(incident, responder, hook):
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    outcomes = [delivery_send(delivery_id=delivery.pk) for _ in range(3)]

    assert outcomes == ["sent", "skipped", "skipped"]
    assert len(hook.requests_to(HOOK)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.SENT, 1)
    assert delivery.provider_status == 200


def test_the_webhook_page_is_signed_and_names_its_delivery(incident, responder, hook):
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    delivery_send(delivery_id=delivery.pk)

    (request,) = hook.requests_to(HOOK)
    assert request.headers["X-Vigil-Delivery"] == str(delivery.pk)
    assert verify_signature(
        secret="s3cret", header=request.headers["X-Vigil-Signature"], body=request.body
    )
    body = request.json
    assert body["incident"]["id"] == incident.public_id
    assert body["links"]["acknowledge"].startswith("http://")


def test_a_sent_page_is_on_the_incident_timeline(
    incident, responder, hook, django_capture_on_commit_callbacks
):
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    with django_capture_on_commit_callbacks(execute=True):
        delivery_send(delivery_id=delivery.pk)

    event = incident.timeline.get(kind=NOTIFICATION_SENT)
    assert (
        event.message
        == "Page to a responder sent to responder by Webhook (signed JSON)"
    )
    (entry,) = event.data["deliveries"]
    assert (entry["delivery"], entry["user"]) == (delivery.pk, "responder")


def test_a_server_error_is_retried_with_backoff_then_sent(incident, responder, hook):
    hook.answer(HOOK, Answer(500, "boom"), Answer(200, "ok"))
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    assert delivery_send(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.status == S.PENDING
    assert delivery.provider_status == 500
    assert delivery.due_at > timezone.now() + timedelta(seconds=3)
    assert delivery_send(delivery_id=delivery.pk) == "skipped"  # not due yet

    with time_machine.travel(delivery.due_at + timedelta(seconds=1)):
        assert delivery_send(delivery_id=delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.SENT, 2)
    assert len(hook.requests_to(HOOK)) == 2


def test_retry_after_of_a_429_sets_when_to_try_again(incident, responder, hook):
    hook.answer(HOOK, Answer(429, "slow down", headers={"Retry-After": "42"}))
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    before = timezone.now()
    delivery_send(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    wait = (delivery.due_at - before).total_seconds()
    assert 41 <= wait <= 44


def test_a_client_error_fails_at_once_and_is_on_the_timeline(
    incident, responder, hook, django_capture_on_commit_callbacks
):
    hook.answer(HOOK, Answer(400, "bad payload"))
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery_send(delivery_id=delivery.pk) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.FAILED, 1)
    assert "bad payload" in delivery.provider_response
    assert incident.timeline.filter(kind=NOTIFICATION_FAILED).exists()


def test_retries_stop_after_the_last_attempt(incident, responder, hook, settings):
    settings.VIGIL_DELIVERY_MAX_ATTEMPTS = 3
    hook.answer(HOOK, Answer(503, "down"))
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    outcomes = []
    for _ in range(5):
        delivery.refresh_from_db()
        with time_machine.travel(delivery.due_at + timedelta(seconds=1)):
            outcomes.append(delivery_send(delivery_id=delivery.pk))

    assert outcomes == ["retrying", "retrying", "failed", "skipped", "skipped"]
    assert len(hook.requests_to(HOOK)) == 3


def test_a_failed_delivery_can_be_sent_again(incident, responder, hook):
    hook.answer(HOOK, Answer(404, "gone"), Answer(200, "ok"))
    contact(responder, hook)
    (delivery,) = page(incident, responder)
    delivery_send(delivery_id=delivery.pk)

    delivery_retry(delivery=delivery)

    assert delivery_send(delivery_id=delivery.pk) == "sent"


def test_acknowledging_cancels_the_pages_still_waiting(incident, responder, hook):
    method = contact(responder, hook)
    NotificationRule.objects.create(
        user=responder, urgency="high", contact_method=method, delay=timedelta(0)
    )
    NotificationRule.objects.create(
        user=responder,
        urgency="high",
        contact_method=method,
        delay=timedelta(minutes=5),
    )
    now_page, later_page = page(incident, responder)
    delivery_send(delivery_id=now_page.pk)

    incident_acknowledge(incident=incident, by=responder)

    later_page.refresh_from_db()
    assert later_page.status == S.CANCELLED
    with time_machine.travel(later_page.due_at + timedelta(seconds=1)):
        assert delivery_send(delivery_id=later_page.pk) == "skipped"
    assert len(hook.requests_to(HOOK)) == 1


def test_a_page_due_after_acknowledgement_is_not_sent(incident, responder, hook):
    contact(responder, hook)
    (delivery,) = page(incident, responder)
    Incident.objects.filter(pk=incident.pk).update(status="acknowledged")

    assert delivery_send(delivery_id=delivery.pk) == "cancelled"
    assert hook.requests == []


def test_a_delivery_left_sending_by_a_dead_worker_is_sent_again(
    incident, responder, hook, settings
):
    settings.VIGIL_DELIVERY_LEASE_SECONDS = 60
    contact(responder, hook)
    (delivery,) = page(incident, responder)
    claimed = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=S.SENDING, claimed_at=claimed, attempts=1
    )

    assert deliveries_recover(now=claimed + timedelta(seconds=30)) == 0
    assert deliveries_recover(now=claimed + timedelta(seconds=61)) == 1
    assert deliveries_recover(now=claimed + timedelta(seconds=62)) == 0

    with time_machine.travel(claimed + timedelta(seconds=62)):
        assert delivery_send(delivery_id=delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert "may arrive twice" in delivery.notes


def test_sms_over_its_rate_limit_waits_and_goes_out_bundled(
    service, responder, twilio_api
):
    from tests.factories import declare

    method = ContactMethod.objects.create(
        user=responder,
        kind=Kind.SMS,
        address="+15551230000",
        verified_at=timezone.now(),
    )
    first, second, third = (
        declare(service, "P0", title=f"Outage {n}") for n in (1, 2, 3)
    )
    (d1,) = page(first, responder)
    assert delivery_send(delivery_id=d1.pk) == "sent"
    (d2,) = page(second, responder)
    (d3,) = page(third, responder)

    assert delivery_send(delivery_id=d2.pk) == "postponed"
    assert delivery_send(delivery_id=d3.pk) == "postponed"
    d2.refresh_from_db()
    assert timedelta(seconds=55) < d2.due_at - d1.due_at <= timedelta(seconds=61)

    with time_machine.travel(d2.due_at + timedelta(seconds=1)):
        assert delivery_send(delivery_id=d2.pk) == "sent"
        assert delivery_send(delivery_id=d3.pk) == "skipped"

    texts = [
        r.form["Body"][0]
        for r in twilio_api.receiver.requests_to(twilio_api.messages_path)
    ]
    assert len(texts) == 2
    assert "Outage 2" in texts[1]
    assert "+1 more" in texts[1]
    assert "Outage 3" in texts[1]
    d3.refresh_from_db()
    assert (d3.status, d3.bundled_into_id) == (S.BUNDLED, d2.pk)
    assert method.deliveries.filter(status=S.SENT).count() == 2


def test_a_page_another_worker_claims_while_it_is_bundled_is_not_bundled(
    service, responder, hook, monkeypatch
):
    """The same task message on two workers: one bundles what waits for a
    rate-limited method while the other claims one of those rows to send it.
    Only what the bundling update took goes into the message."""
    from notifications.services import rows, sending
    from tests.factories import declare

    contact(responder, hook, rate_limit_count=1, rate_limit_window=timedelta(hours=1))
    (d1,) = page(declare(service, "P0", title="Outage 1"), responder)
    (d2,) = page(declare(service, "P0", title="Outage 2"), responder)
    seen = sending._acknowledged

    def other_worker_claims_d2(delivery: Delivery) -> bool:
        if delivery.pk == d2.pk:  # between reading what waits and taking it
            assert rows.claim_one(d2.pk, timezone.now()) is not None
        return seen(delivery)

    monkeypatch.setattr(sending, "_acknowledged", other_worker_claims_d2)
    assert delivery_send(delivery_id=d1.pk) == "sent"

    (request,) = hook.requests_to(HOOK)
    assert "Outage 2" not in request.body.decode()
    d2.refresh_from_db()
    assert (d2.status, d2.bundled_into_id, d2.sent_at) == (S.SENDING, None, None)
    assert not Delivery.objects.filter(bundled_into=d1).exists()


def test_the_sweep_enqueues_late_deliveries_only(incident, responder, hook):
    contact(responder, hook)
    (delivery,) = page(incident, responder)

    assert deliveries_dispatch_due(now=delivery.due_at + timedelta(seconds=1)) == 0
    assert deliveries_dispatch_due(now=delivery.due_at + timedelta(seconds=6)) == 1


def test_a_user_with_no_verified_contact_method_gets_no_delivery(
    incident, responder, hook
):
    ContactMethod.objects.create(
        user=responder, kind=Kind.WEBHOOK, address=hook.url(HOOK)
    )

    assert page(incident, responder) == []


def test_writing_returns_only_the_rows_of_its_own_destinations(
    incident, responder, team_lead, hook
):
    from notifications.services.deliveries import Target, deliveries_write

    def write(user):
        method = contact(user, hook, path=f"/{user.username}")
        target = Target(kind=method.kind, address=method.address, contact_method=method)
        return deliveries_write(
            purpose="page", message_kind="page", event_key="same", targets=[target]
        )

    (first,) = write(responder)
    (second,) = write(team_lead)

    assert first.pk != second.pk
    assert second.contact_method.user == team_lead
