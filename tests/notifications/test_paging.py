"""Who is reached, when, and what the incident's channels are told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import SeverityLevel
from incidents.services import incident_transition
from notifications.models import (
    Channel,
    ContactMethod,
    Delivery,
    Kind,
    MessageTemplate,
    NotificationRule,
)
from notifications.services import delivery_send, page_user
from tests.factories import ServiceFactory, TeamFactory, declare, verify
from tests.notifications.servers import Answer, HTTPReceiver

HOOK = "/channel"


@pytest.fixture
def hook(http_receiver: HTTPReceiver, allow_loopback: None) -> HTTPReceiver:
    http_receiver.answer(HOOK, Answer(200, "ok"))
    return http_receiver


def method(user, kind=Kind.EMAIL, address="r@example.com", verified=True):
    return ContactMethod.objects.create(
        user=user,
        kind=kind,
        address=address,
        verified_at=timezone.now() if verified else None,
    )


def channel(hook, **fields) -> Channel:
    fields.setdefault("name", "#ops")
    return Channel.objects.create(
        kind=Kind.WEBHOOK, address=hook.url(HOOK), secret="k", **fields
    )


def test_a_p0_page_follows_the_high_urgency_rules_and_their_delays(service, responder):
    email, sms = method(responder), method(responder, Kind.SMS, "+15550001111")
    NotificationRule.objects.create(
        user=responder, urgency="high", contact_method=email
    )
    NotificationRule.objects.create(
        user=responder, urgency="high", contact_method=sms, delay=timedelta(minutes=5)
    )
    NotificationRule.objects.create(user=responder, urgency="low", contact_method=email)
    incident = declare(service, "P0")
    now = timezone.now()

    deliveries = page_user(incident=incident, user=responder, event_key="L1", now=now)

    assert [(d.kind, d.due_at - now) for d in deliveries] == [
        ("email", timedelta(0)),
        ("sms", timedelta(minutes=5)),
    ]


def test_a_p3_page_follows_the_low_urgency_rules(service, responder):
    email, sms = method(responder), method(responder, Kind.SMS, "+15550001111")
    NotificationRule.objects.create(user=responder, urgency="high", contact_method=sms)
    NotificationRule.objects.create(user=responder, urgency="low", contact_method=email)

    deliveries = page_user(
        incident=declare(service, "P3"), user=responder, event_key="L1"
    )

    assert [d.kind for d in deliveries] == ["email"]


def test_without_rules_every_verified_method_is_paged_at_once(service, responder):
    method(responder)
    method(responder, Kind.SMS, "+15550001111")
    method(responder, Kind.SMS, "+15550002222", verified=False)

    deliveries = page_user(
        incident=declare(service, "P1"), user=responder, event_key="L1"
    )

    assert sorted(d.destination for d in deliveries) == [
        "+15550001111",
        "r@example.com",
    ]


def test_declaring_tells_the_services_and_the_teams_channels_only(service, team, hook):
    mine = channel(hook, service=service)
    teams = channel(hook, team=team, name="#platform")
    other = ServiceFactory(team=team)
    channel(hook, service=other, name="#other-service")
    channel(hook, team=TeamFactory(), name="#other-team")
    channel(hook, service=service, name="#quiet", on_initial=False)

    incident = declare(service, "P1")

    told = Delivery.objects.filter(incident=incident, purpose="broadcast")
    assert sorted(d.channel_id for d in told) == sorted([mine.pk, teams.pk])
    assert {d.message_kind for d in told} == {"initial"}


def test_a_channel_with_a_severity_floor_hears_only_worse_incidents(service, hook):
    channel(
        hook, service=service, minimum_severity=SeverityLevel.objects.get(code="P1")
    )

    quiet = declare(service, "P2")
    loud = declare(service, "P0")

    assert not quiet.deliveries.exists()
    assert loud.deliveries.count() == 1


def test_status_updates_and_resolution_reach_the_channels(service, responder, hook):
    channel(hook, service=service)
    incident = declare(service, "P1")

    incident_transition(
        incident=incident, to="identified", by=responder, reason="Bad deploy 4.2"
    )
    verify(incident)
    incident_transition(incident=incident, to="resolved", by=responder)

    kinds = list(
        incident.deliveries.order_by("id").values_list("message_kind", flat=True)
    )
    assert kinds == ["initial", "update", "resolution"]
    update = incident.deliveries.get(message_kind="update")
    assert update.extra["update"]["text"] == "Bad deploy 4.2"


def test_the_channel_message_uses_the_sops_subject_lines(service, responder, hook):
    channel(hook, service=service)
    incident = verify(declare(service, "P0", title="Site down"))
    incident_transition(incident=incident, to="resolved", by=responder)

    for delivery in incident.deliveries.order_by("id"):
        delivery_send(delivery_id=delivery.pk)

    subjects = [r.json["subject"] for r in hook.requests_to(HOOK)]
    assert subjects == [
        "[P0 INCIDENT] - Site down",
        "[RESOLVED] P0 Incident - Site down",
    ]


def test_every_message_of_a_drill_is_marked(service, hook):
    channel(hook, service=service)
    incident = declare(service, "P1", title="Game day", is_drill=True)

    delivery_send(delivery_id=incident.deliveries.get().pk)

    body = hook.requests_to(HOOK)[0].json
    assert body["subject"].startswith("[DRILL] ")
    assert body["text"].startswith("[DRILL] ")
    assert body["is_drill"] is True


def test_a_broken_template_falls_back_and_is_reported(service, hook):
    template = MessageTemplate.objects.create(
        kind="initial", format="subject", source="{{ incident.no_such_field }}"
    )
    channel(hook, service=service)
    incident = declare(service, "P2", title="Slow search")
    delivery = incident.deliveries.get()

    assert delivery_send(delivery_id=delivery.pk) == "sent"

    assert hook.requests_to(HOOK)[0].json["subject"] == "[P2 INCIDENT] - Slow search"
    template.refresh_from_db()
    assert "no_such_field" in template.last_error
    assert template.last_error_at is not None
    delivery.refresh_from_db()
    assert "no_such_field" in delivery.notes


def test_an_edited_template_is_used(service, hook):
    MessageTemplate.objects.create(
        kind="initial", format="subject", source="{{ incident.id }} is down"
    )
    channel(hook, service=service)
    incident = declare(service, "P2")

    delivery_send(delivery_id=incident.deliveries.get().pk)

    assert hook.requests_to(HOOK)[0].json["subject"] == f"{incident.public_id} is down"
