"""Internal stakeholders: one delivery per (update, subscriber), drills apart."""

from __future__ import annotations

import pytest
from django.utils import timezone

from incidents.services.status_updates import status_update_post
from notifications.models import Channel, Delivery, Kind, Subscription
from notifications.services import subscription_create
from notifications.services.messages import message_render
from tests.conftest import api_client, staff_client
from tests.factories import ContactMethodFactory, ServiceFactory, declare

URL = "/api/v1/subscriptions/"


@pytest.fixture
def stakeholder(db):
    """A support manager's email, outside the responding team."""
    return ContactMethodFactory(user__username="support")


@pytest.fixture
def channel(service) -> Channel:
    return Channel.objects.create(
        name="#ops", kind=Kind.SLACK, address="https://example.com/c", service=service
    )


def told(kind: str, **destination: object) -> list[Delivery]:
    return list(Delivery.objects.filter(message_kind=kind, **destination))


def test_each_subscriber_hears_of_each_update_once(
    service, responder, stakeholder, channel
):
    other = ServiceFactory(team=service.team, slug="payments")
    # Subscribed twice (the service, and one the incident affects), and the
    # incident's own channel subscribed as well.
    for subscribed in (service, other):
        subscription_create(service=subscribed, by=None, contact_method=stakeholder)
    subscription_create(service=service, by=None, channel=channel)
    incident = declare(service, "P1", by=responder, affected_services=[other])

    update = status_update_post(incident=incident, actor=responder, text="Found it")
    status_update_post(incident=incident, actor=responder, text="Fixing it")

    key = f"update:su{update.pk}"
    assert len(told("update", event_key=key, contact_method=stakeholder)) == 1
    assert len(told("update", event_key=key, channel=channel)) == 1
    assert len(told("update", contact_method=stakeholder)) == 2
    assert len(told("initial", contact_method=stakeholder)) == 1


def test_a_subscriber_chooses_which_messages(service, responder, stakeholder):
    subscription_create(
        service=service, by=None, contact_method=stakeholder, on_update=False
    )
    incident = declare(service, "P1", by=responder)
    status_update_post(incident=incident, actor=responder, text="Found it")

    assert told("initial", contact_method=stakeholder)
    assert not told("update", contact_method=stakeholder)


def test_drills_reach_only_those_who_asked_and_say_drill(service, responder):
    quiet = ContactMethodFactory(user__username="quiet")
    keen = ContactMethodFactory(user__username="keen")
    subscription_create(service=service, by=None, contact_method=quiet)
    subscription_create(service=service, by=None, contact_method=keen, drills=True)

    declare(service, "P1", by=responder, is_drill=True)

    assert not told("initial", contact_method=quiet)
    (delivery,) = told("initial", contact_method=keen)
    assert message_render(delivery, now=timezone.now()).subject.startswith("[DRILL]")


def test_stakeholders_are_never_phoned(service):
    phone = ContactMethodFactory(kind=Kind.SMS, address="+15551234567")

    with pytest.raises(Exception, match="not by phone"):
        subscription_create(service=service, by=None, contact_method=phone)


def test_a_responder_subscribes_their_own_email_by_api(api, service, responder):
    mine = ContactMethodFactory(user=responder)

    response = api.post(
        URL, {"service": service.slug, "contact_method": mine.pk, "on_update": False}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"], body["on_update"], body["drills"]) == (
        "responder",
        False,
        False,
    )
    assert api.get(URL).json()["count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"service": "website"},
        {"service": "nope", "channel": 1},
        {"service": "website", "contact_method": 10**6},
        {"service": "website", "channel": "x"},
        {"service": "website", "channel": 1, "colour": "red"},
    ],
)
def test_bad_subscriptions_are_400(api, service, channel, body):
    response = api.post(URL, body)

    assert response.status_code == 400, response.content
    assert not Subscription.objects.exists()


def test_someone_elses_contact_method_cannot_be_subscribed(api, service, stakeholder):
    response = api.post(
        URL, {"service": service.slug, "contact_method": stakeholder.pk}
    )

    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_subscribing_twice_is_400(api, service, channel):
    body = {"service": service.slug, "channel": channel.pk}
    assert api.post(URL, body).status_code == 201

    assert api.post(URL, body).status_code == 400
    assert Subscription.objects.count() == 1


def test_another_teams_subscriptions_are_invisible(outsider, service, channel):
    subscription = subscription_create(service=service, by=None, channel=channel)
    client = api_client(outsider)

    assert client.get(URL).json()["count"] == 0
    assert client.delete(f"{URL}{subscription.pk}/").status_code == 404
    assert client.patch(f"{URL}{subscription.pk}/", {"drills": True}).status_code == 404
    assert Subscription.objects.get().drills is False


def test_a_channel_is_subscribed_from_the_admin(responder, service, channel):
    browser = staff_client(responder)

    response = browser.post(
        "/admin/notifications/subscription/add/",
        {"service": service.pk, "channel": channel.pk, "on_update": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    subscription = Subscription.objects.get()
    assert (subscription.channel, subscription.on_initial) == (channel, False)
