"""Public subscriptions: double opt-in, scoping, one message per update,
unsubscribe, expiry and the sign-up rate limit, through real SMTP and HTTP
servers on loopback and the real delivery log."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from incidents.models import StatusUpdate
from incidents.signals import status_update_posted
from notifications.models import Delivery, PublicSubscriber
from notifications.services import deliveries_send
from notifications.transports.webhook import verify_signature
from tests.factories import ServiceFactory, declare
from tests.statuspage.conftest import INTERNAL, make_public, post_update
from tests.statuspage.test_page import PRIVATE_WORDS

LINK = re.compile(r"https?://\S+/status/(?:subscribe/confirm|subscription)/[^/\s]+/")


def send_pending() -> None:
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING)
    deliveries_send(delivery_ids=list(pending.values_list("pk", flat=True)))


def links(text: str) -> list[str]:
    return [urlsplit(url).path for url in LINK.findall(text)]


def sign_up(client: Client, address: str, *services: int, kind: str = "email"):
    return client.post(
        "/status/subscribe/",
        {"kind": kind, "address": address, "services": list(services)},
    )


def subscribe(client: Client, smtp_server, address: str, *services: int) -> str:
    """Sign up and follow the confirmation link; return the mail's text."""
    assert sign_up(client, address, *services).status_code == 200
    send_pending()
    body = smtp_server.messages[-1].message.get_content()
    (confirm,) = links(body)
    assert "Subscribed" in client.get(confirm).content.decode()
    return body


def mails_to(smtp_server, address: str) -> list[str]:
    return [
        m.message.get_content() for m in smtp_server.messages if address in m.rcpt_tos
    ]


def test_signing_up_sends_a_confirmation_and_nothing_until_it_is_followed(
    client, smtp_server, outage, api_service
):
    answer = sign_up(client, "fan@example.org", api_service.pk)
    send_pending()

    assert "Check your inbox" in answer.content.decode()
    assert PublicSubscriber.objects.get().confirmed_at is None
    post_update(outage, "Still investigating.")
    assert not Delivery.objects.filter(message_kind="update").exists()
    (confirm,) = links(mails_to(smtp_server, "fan@example.org")[0])
    client.get(confirm)
    assert PublicSubscriber.objects.get().confirmed_at is not None


def test_a_public_update_reaches_each_subscriber_once_with_a_manage_link(
    client, smtp_server, outage, api_service
):
    subscribe(client, smtp_server, "fan@example.org", api_service.pk)
    update = post_update(outage, "A fix is being deployed.")
    status_update_posted.send(
        StatusUpdate, incident=outage, update=update, event=None,
        message_kind="update",
    )  # fmt: skip  # again
    send_pending()

    (mail,) = [m for m in mails_to(smtp_server, "fan@example.org") if "fix" in m]
    assert "Elevated API errors" in mail
    assert "A fix is being deployed." in mail
    assert len(links(mail)) == 1  # the manage / unsubscribe link
    for words in PRIVATE_WORDS:
        assert words not in mail
    assert Delivery.objects.filter(event_key=f"status-update:{update.pk}").count() == 1


def test_internal_updates_drills_and_private_incidents_send_nothing(
    client, smtp_server, outage, api_service, responder
):
    subscribe(client, smtp_server, "fan@example.org")
    post_update(outage, "Bob is on it", audience=INTERNAL)
    drill = declare(api_service, "P0", title="drill", by=responder, is_drill=True)
    post_update(make_public(drill, "Game day", responder), "Practising")
    private = declare(api_service, "P0", title="quiet", by=responder)
    post_update(private, "Not for the public")

    assert not Delivery.objects.exclude(message_kind="verification").exists()


def test_subscribers_hear_only_of_the_services_they_chose(
    client, smtp_server, outage, api_service, team, responder
):
    web = ServiceFactory(name="Web", slug="web", team=team, is_public=True)
    subscribe(client, smtp_server, "api-fan@example.org", api_service.pk)
    subscribe(client, smtp_server, "web-fan@example.org", web.pk)
    subscribe(client, smtp_server, "all@example.org")
    post_update(outage, "API update")
    send_pending()

    assert any("API update" in m for m in mails_to(smtp_server, "api-fan@example.org"))
    assert any("API update" in m for m in mails_to(smtp_server, "all@example.org"))
    assert not any(
        "API update" in m for m in mails_to(smtp_server, "web-fan@example.org")
    )


def test_the_manage_link_changes_services_and_unsubscribes(
    client, smtp_server, outage, api_service
):
    subscribe(client, smtp_server, "fan@example.org")
    post_update(outage, "First")
    send_pending()
    (manage,) = links(mails_to(smtp_server, "fan@example.org")[-1])

    assert client.get(manage).status_code == 200
    client.post(manage, {"services": [api_service.pk], "save": "1"})
    assert list(PublicSubscriber.objects.get().services.all()) == [api_service]
    assert "Unsubscribed" in client.post(manage, {"unsubscribe": "1"}).content.decode()
    assert not PublicSubscriber.objects.exists()
    second = post_update(outage, "Second")
    assert not Delivery.objects.filter(event_key=f"status-update:{second.pk}").exists()
    assert client.get(manage).status_code == 410


def test_a_forged_link_is_refused(client, db):
    assert client.get("/status/subscription/not-a-token/").status_code == 410
    assert client.get("/status/subscribe/confirm/forged/").status_code == 410


def test_the_confirmation_link_expires(client, smtp_server, db, settings):
    sign_up(client, "late@example.org")
    send_pending()
    (confirm,) = links(mails_to(smtp_server, "late@example.org")[0])
    later = timezone.now() + timedelta(hours=settings.VIGIL_STATUS_CONFIRM_HOURS + 1)

    with time_machine.travel(later):
        answer = client.get(confirm)

    assert answer.status_code == 410
    assert "expired" in answer.content.decode()
    assert PublicSubscriber.objects.get().confirmed_at is None


def test_sign_ups_are_rate_limited_per_client_address(client, db, settings):
    settings.VIGIL_STATUS_SIGNUPS_PER_HOUR = 2
    answers = [sign_up(client, f"fan{n}@example.org").status_code for n in range(3)]
    other = Client(REMOTE_ADDR="10.0.0.9")

    assert answers == [200, 200, 429]
    assert PublicSubscriber.objects.count() == 2
    assert sign_up(other, "fan9@example.org").status_code == 200


@pytest.mark.parametrize(
    ("kind", "address"),
    [("email", "not an address"), ("webhook", "ftp://x"), ("sms", "+15550001")],
)
def test_a_bad_sign_up_is_a_400_that_keeps_nothing(client, db, kind, address):
    answer = sign_up(client, address, kind=kind)

    assert answer.status_code == 400
    assert not PublicSubscriber.objects.exists()


def test_a_webhook_subscriber_gets_signed_json(
    client, http_receiver, allow_loopback, outage
):
    url = http_receiver.url("/hook")
    assert sign_up(client, url, kind="webhook").status_code == 200
    send_pending()
    (request,) = http_receiver.requests_to("/hook")
    subscriber = PublicSubscriber.objects.get()
    (confirm,) = links(request.json["text"])
    client.get(confirm)

    post_update(outage, "Webhook update")
    send_pending()

    last = http_receiver.requests_to("/hook")[-1]
    assert last.json["kind"] == "update"
    assert "Webhook update" in last.json["text"]
    assert last.json["incident"]["id"] == ""
    assert verify_signature(
        secret=subscriber.secret,
        header=last.headers["X-Vigil-Signature"],
        body=last.body,
    )
