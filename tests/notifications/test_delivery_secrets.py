"""A page's links and reply code are its recipient's alone in the delivery log.

Whoever holds them acknowledges or resolves as the person paged, and the
timeline credits that person; Twilio's answer, kept in the log, quotes the
SMS with both.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from incidents.models import Incident
from notifications.models import Delivery, Kind
from notifications.services import page_user
from notifications.services.sending import delivery_send
from tests.conftest import api_client
from tests.factories import ContactMethodFactory
from tests.notifications.servers import Answer, TwilioAPI

PHONE = "+14155550100"


@pytest.fixture
def page(incident: Incident, responder: User, twilio_api: TwilioAPI) -> Delivery:
    """A page to the responder by SMS, sent, with Twilio's answer quoting it."""
    ContactMethodFactory(user=responder, kind=Kind.SMS, address=PHONE)
    (delivery,) = page_user(incident=incident, user=responder, event_key="esc1")
    links, code = delivery.extra["links"], delivery.extra["sms_code"]
    echo = f"Reply ACK {code} to acknowledge. {links['acknowledge']}"
    twilio_api.receiver.answer(
        twilio_api.messages_path,
        Answer(201, {"sid": "SM0123", "status": "queued", "body": echo}),
    )
    assert delivery_send(delivery_id=delivery.pk) == "sent"
    delivery.refresh_from_db()
    assert links["acknowledge"] in delivery.provider_response
    return delivery


def secrets_of(delivery: Delivery) -> list[str]:
    """Return the link tokens and the reply code of a page."""
    links = delivery.extra["links"]
    tokens = [url.rstrip("/").rsplit("/", 1)[1] for url in links.values()]
    return [*tokens, delivery.extra["sms_code"]]


def test_the_recipient_sees_their_links_and_code(page, responder):
    # Provider answers are shown to superusers only; this recipient is one.
    responder.is_superuser = True
    responder.save(update_fields=["is_superuser"])

    response = api_client(responder).get(f"/api/v1/deliveries/{page.pk}/")

    assert response.status_code == 200
    shown = response.json()["provider_response"]
    assert page.extra["links"]["acknowledge"] in shown
    assert f"Reply ACK {page.extra['sms_code']} to acknowledge." in shown


def test_a_team_mate_sees_the_page_without_its_links_or_code(page, team_lead):
    api = api_client(team_lead)

    listed = api.get("/api/v1/deliveries/", {"incident": page.incident.public_id})
    one = api.get(f"/api/v1/deliveries/{page.pk}/")

    assert listed.status_code == one.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == [page.pk]
    for response in (listed, one):
        text = response.content.decode()
        for secret in secrets_of(page):
            assert secret not in text


def test_an_admin_sees_the_page_in_the_admin_without_its_links_or_code(page):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")
    browser = Client()
    browser.force_login(boss)

    response = browser.get(f"/admin/notifications/delivery/{page.pk}/change/")

    assert response.status_code == 200
    text = response.content.decode()
    for secret in secrets_of(page):
        assert secret not in text
    assert "/respond/[redacted]/" in text
    assert "SM0123" in text


def test_the_log_keeps_the_links_whole_for_sending(page, team_lead):
    api_client(team_lead).get(f"/api/v1/deliveries/{page.pk}/")

    page.refresh_from_db()
    assert all(secret in json.dumps(page.extra) for secret in secrets_of(page))
