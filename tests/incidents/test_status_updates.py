"""Status updates through the REST API, and the messages they become."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.formatting import when
from incidents.models import Incident, StatusUpdate
from incidents.services import incident_transition
from incidents.signals import status_update_posted
from incidents.timeline_kinds import STATUS_UPDATE_POSTED, UPDATE_REMINDERS_SNOOZED
from notifications.models import Channel, Delivery, Kind
from notifications.services.messages import message_render
from tests.conftest import api_client, staff_client
from tests.factories import declare, verify


def url(incident: Incident, tail: str = "status-updates/") -> str:
    return f"/api/v1/incidents/{incident.public_id}/{tail}"


@pytest.fixture
def channel(service) -> Channel:
    return Channel.objects.create(
        name="#ops", kind=Kind.SLACK, address="https://example.com/c", service=service
    )


def test_a_posted_update_is_recorded_and_sent_to_the_channels(api, incident, channel):
    eta = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    response = api.post(
        url(incident),
        {
            "text": "The 14:00 deploy broke the load balancer.",
            "impact": "Checkout fails for everyone",
            "next_steps": "Roll back the deploy",
            "eta": eta.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    update = StatusUpdate.objects.get(pk=body["id"])
    assert (body["audience"], body["posted_by"]["username"]) == (
        "internal",
        "responder",
    )
    assert update.next_update_due_at == update.posted_at + timedelta(hours=2)  # P1
    event = incident.timeline.get(kind=STATUS_UPDATE_POSTED, data__update=update.pk)
    assert "The 14:00 deploy broke" in event.message
    delivery = Delivery.objects.get(event_key=f"update:su{update.pk}")
    assert delivery.channel == channel
    message = message_render(delivery, now=timezone.now() + timedelta(minutes=30))
    assert "**Next Steps**: Roll back the deploy" in message.chat
    # "Next update" is the due time stored with the update, not now + cadence.
    assert f"Next update: {when(update.next_update_due_at)}" in message.text


def test_the_list_holds_every_update_oldest_first(api, incident):
    api.post(url(incident), {"text": "Looking at the database"}, format="json")

    body = api.get(url(incident)).json()

    assert [u["text"] for u in body] == [
        "Incident declared: Checkout returns 500",
        "Looking at the database",
    ]


def test_an_update_with_a_status_moves_the_incident_and_sends_one_message(
    api, incident, channel
):
    response = api.post(
        url(incident),
        {"text": "Bad config found", "status": "identified"},
        format="json",
    )

    assert response.status_code == 201
    incident.refresh_from_db()
    assert incident.status == "identified"
    updates = Delivery.objects.filter(channel=channel, message_kind="update")
    assert [d.extra["update"]["text"] for d in updates] == ["Bad config found"]


def test_resolving_with_an_update_sends_the_resolution(api, incident, channel):
    verify(incident)
    response = api.post(
        url(incident), {"text": "Rolled back", "status": "resolved"}, format="json"
    )

    assert response.status_code == 201
    assert Delivery.objects.filter(channel=channel, message_kind="resolution").count()
    incident.refresh_from_db()
    assert (incident.next_update_due_at, incident.update_check_at) == (None, None)


def test_a_transition_that_announces_itself_is_a_status_update(
    incident, responder, channel
):
    incident_transition(
        incident=incident, to="identified", by=responder, reason="Disk full"
    )

    update = incident.status_updates.order_by("id").last()
    assert (update.text, update.status) == ("Disk full", "identified")
    assert Delivery.objects.filter(event_key=f"update:su{update.pk}").count() == 1


def test_an_update_and_its_messages_are_written_together_or_not_at_all(
    api, incident, channel
):
    # A receiver after notifications' fails: the update, its timeline entry
    # and the messages already written for it are all undone, and the
    # caller hears an error instead of a half-posted update.
    heard: list[tuple[int, str]] = []

    def failing(sender, *, update, message_kind, **kwargs):
        heard.append((update.pk, message_kind))
        assert Delivery.objects.filter(event_key=f"update:su{update.pk}").exists()
        raise RuntimeError("the public side is down")

    status_update_posted.connect(failing)
    try:
        with pytest.raises(RuntimeError):
            api.post(url(incident), {"text": "Customers may see errors"})
    finally:
        status_update_posted.disconnect(failing)

    [(pk, kind)] = heard
    assert kind == "update"
    assert not StatusUpdate.objects.filter(pk=pk).exists()
    assert not incident.timeline.filter(data__update=pk).exists()
    assert not Delivery.objects.filter(event_key=f"update:su{pk}").exists()

    body = api.post(url(incident), {"text": "Customers may see errors"}).json()
    assert Delivery.objects.filter(event_key=f"update:su{body['id']}").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "ok", "audience": "everyone"}, "audience"),
        ({"text": "ok", "eta": "tomorrow"}, "eta"),
        ({"text": "ok", "eta": "2020-01-01T00:00:00Z"}, "eta"),
        ({"text": "ok", "status": "fixed"}, "status"),
        ({"text": "ok", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_400_and_posts_nothing(api, incident, body, field):
    before = StatusUpdate.objects.count()

    response = api.post(url(incident), body, format="json")

    assert response.status_code == 400, response.content
    assert field in str(response.json())
    assert StatusUpdate.objects.count() == before


def test_an_illegal_status_is_409(api, incident):
    response = api.post(
        url(incident), {"text": "ok", "status": "closed"}, format="json"
    )

    assert response.status_code == 409
    assert incident.status_updates.count() == 1  # the declaration's


def test_a_closed_incident_takes_no_update(api, incident, responder):
    incident_transition(incident=incident, to="cancelled", by=responder, reason="test")

    response = api.post(url(incident), {"text": "late news"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "status_update_state"


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_teams_incident_is_404(outsider, incident, method):
    response = getattr(api_client(outsider), method)(
        url(incident), {"text": "hijack"}, format="json"
    )

    assert response.status_code == 404
    assert incident.status_updates.count() == 1


def test_reminders_are_snoozed_with_a_reason(api, incident):
    until = (timezone.now() + timedelta(hours=1)).isoformat()

    refused = api.post(url(incident, "update-reminders/snooze/"), {"until": until})
    response = api.post(
        url(incident, "update-reminders/snooze/"),
        {"until": until, "reason": "vendor call at 15:00"},
    )

    assert refused.status_code == 400
    assert response.status_code == 200, response.content
    assert response.json()["update_reminders_snoozed_until"] is not None
    event = incident.timeline.get(kind=UPDATE_REMINDERS_SNOOZED)
    assert "vendor call at 15:00" in event.message


def test_a_severity_without_cadence_has_nothing_to_snooze(api, service):
    incident = declare(service, "P3")
    until = (timezone.now() + timedelta(hours=1)).isoformat()

    response = api.post(
        url(incident, "update-reminders/snooze/"), {"until": until, "reason": "x"}
    )

    assert response.status_code == 409


# --- The admin ------------------------------------------------------------------


def admin_form(incident: Incident) -> str:
    return f"/admin/incidents/incident/{incident.pk}/status-update/"


def test_a_responder_posts_an_update_from_the_admin(responder, incident, channel):
    browser = staff_client(responder)
    change = browser.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert admin_form(incident) in change.content.decode()

    response = browser.post(
        admin_form(incident),
        {"text": "Rolling back", "audience": "public", "status": "identified"},
    )

    assert response.status_code == 302
    update = incident.status_updates.order_by("id").last()
    assert (update.text, update.audience, update.posted_by) == (
        "Rolling back",
        "public",
        responder,
    )
    assert incident.timeline.filter(kind=STATUS_UPDATE_POSTED, via="admin").count()


def test_the_admin_form_shows_what_the_service_refuses(responder, incident):
    response = staff_client(responder).post(
        admin_form(incident), {"text": "ok", "audience": "internal", "status": "closed"}
    )

    assert response.status_code == 200
    assert "cannot move incident" in response.content.decode()
    assert incident.status_updates.count() == 1


def test_another_teams_incident_has_no_admin_form(outsider, incident):
    response = staff_client(outsider).post(
        admin_form(incident), {"text": "hijack", "audience": "internal"}
    )

    assert response.status_code == 404
    assert incident.status_updates.count() == 1
