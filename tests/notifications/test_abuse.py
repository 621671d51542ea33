"""Notifications used against Vigil's own network or against third parties.

What a provider answered stays with superusers, Apprise URLs are checked
when they are entered, a deleted contact method stops its deliveries, and
verification messages are capped.
"""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from notifications import outbound
from notifications.models import Channel, ContactMethod, Delivery
from notifications.services import contact_method_create, delivery_send
from notifications.transports.base import TransportError
from tests.conftest import api_client
from tests.notifications.servers import Answer, HTTPReceiver

METHODS = "/api/v1/contact-methods/"
DELIVERIES = "/api/v1/deliveries/"
CHANNELS = "/api/v1/channels/"
PHONE = "+14155550100"
INTERNAL = "db_password=hunter2"  # what an internal service would answer


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("boss", "boss@example.com", "pw")


def _verification_sent_to(
    receiver: HTTPReceiver, responder: User, answer: Answer
) -> Delivery:
    """Point a webhook of `responder` at `receiver` and send it its code."""
    receiver.answer("/internal", answer)
    method = contact_method_create(
        user=responder, kind="webhook", address=receiver.url("/internal")
    )
    delivery = Delivery.objects.get(contact_method=method)
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


@pytest.mark.parametrize(("status", "outcome"), [(200, "sent"), (404, "failed")])
def test_an_allowed_hosts_answer_is_not_shown_to_the_user_who_sent_there(
    http_receiver: HTTPReceiver,
    allow_loopback: None,
    responder: User,
    superuser: User,
    status: int,
    outcome: str,
) -> None:
    delivery = _verification_sent_to(http_receiver, responder, Answer(status, INTERNAL))
    assert delivery.status == outcome
    assert INTERNAL in delivery.provider_response  # kept for the administrators

    mine = api_client(responder).get(f"{DELIVERIES}{delivery.pk}/").json()
    listed = api_client(responder).get(DELIVERIES).json()["results"]

    assert mine["provider_status"] == status
    assert mine["provider_response"] == ""
    assert "hunter2" not in str(mine) + str(listed)
    full = api_client(superuser).get(f"{DELIVERIES}{delivery.pk}/").json()
    assert INTERNAL in full["provider_response"]


def test_the_error_names_the_status_not_the_servers_reason_phrase() -> None:
    response = httpx.Response(
        418,
        extensions={"reason_phrase": INTERNAL.encode()},
        request=httpx.Request("POST", "https://10.0.0.5/hook"),
    )

    with pytest.raises(TransportError) as caught:
        outbound.raise_for_status(response)

    assert str(caught.value) == "10.0.0.5 answered HTTP 418 I'm a Teapot."


def test_a_non_http_service_behind_an_allowed_host_does_not_show_its_banner(
    allow_loopback: None, responder: User, superuser: User
) -> None:
    banner = b"SSH-2.0-OpenSSH_9.2p1 internal-build-42\r\n\r\n"
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(10):
            try:
                conn, _address = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                conn.recv(65536)  # the request
                conn.sendall(banner)
                while conn.recv(65536):  # until the client hangs up
                    pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        method = contact_method_create(
            user=responder, kind="webhook", address=f"http://127.0.0.1:{port}/"
        )
        delivery = Delivery.objects.get(contact_method=method)
        delivery_send(delivery_id=delivery.pk)
    finally:
        listener.close()

    shown = api_client(responder).get(f"{DELIVERIES}{delivery.pk}/").json()
    assert shown["status"] == "pending"  # retrying: the far end is not HTTP
    assert "internal-build-42" not in str(shown)
    assert shown["error"].startswith("Cannot reach 127.0.0.1:")
    full = api_client(superuser).get(f"{DELIVERIES}{delivery.pk}/").json()
    assert "internal-build-42" in full["provider_response"]


def test_the_admin_shows_provider_answers_to_superusers_only(
    http_receiver: HTTPReceiver,
    allow_loopback: None,
    responder: User,
    superuser: User,
) -> None:
    delivery = _verification_sent_to(http_receiver, responder, Answer(200, INTERNAL))
    url = f"/admin/notifications/delivery/{delivery.pk}/change/"
    User.objects.filter(pk=responder.pk).update(is_staff=True)
    responder.groups.add(Group.objects.get(name="Responders"))
    staff, boss = Client(), Client()
    staff.force_login(responder)
    boss.force_login(superuser)

    seen_by_staff = staff.get(url)
    seen_by_boss = boss.get(url)

    assert seen_by_staff.status_code == 200
    assert "hunter2" not in seen_by_staff.content.decode()
    assert "hunter2" in seen_by_boss.content.decode()


def test_a_local_apprise_target_is_400_when_the_contact_method_is_added(
    responder: User, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = []
    client = api_client(responder)
    smtp = "mailto://u:p@93.184.215.14:2525?smtp=127.0.0.1&to=ops@example.org"

    overridden = client.post(METHODS, {"kind": "apprise", "address": smtp})
    syslog = client.post(METHODS, {"kind": "apprise", "address": "syslog://"})

    assert overridden.status_code == 400
    assert "127.0.0.1 is not a public address" in str(overridden.json())
    assert syslog.status_code == 400
    assert "syslog:// are not accepted here" in str(syslog.json())
    assert not responder.contact_methods.exists()


def test_a_channel_with_a_local_apprise_target_is_400(
    responder: User, team: Any, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = []
    client = api_client(responder)
    smtp = "mailtos://u:p@example.org?smtp=169.254.169.254&to=ops@example.org"

    for address in (smtp, "syslog://", "discord://1/abc?template=/etc/passwd"):
        response = client.post(
            CHANNELS,
            {"name": "ops", "kind": "apprise", "address": address, "team": team.slug},
        )
        assert response.status_code == 400, address

    assert not Channel.objects.exists()


# --- A deleted contact method stops its deliveries ---------------------------------


def _retrying_webhook(receiver: HTTPReceiver, responder: User) -> Delivery:
    delivery = _verification_sent_to(receiver, responder, Answer(503, "busy"))
    assert delivery.status == "pending"  # to be retried
    return delivery


def test_deleting_a_contact_method_cancels_its_retries_with_the_reason(
    http_receiver: HTTPReceiver, allow_loopback: None, responder: User
) -> None:
    delivery = _retrying_webhook(http_receiver, responder)

    response = api_client(responder).delete(f"{METHODS}{delivery.contact_method_id}/")

    assert response.status_code == 204
    delivery.refresh_from_db()
    assert (delivery.status, delivery.contact_method_id) == ("cancelled", None)
    assert delivery.error == "its contact method or channel was deleted"
    assert delivery.finished_at is not None
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        assert delivery_send(delivery_id=delivery.pk) == "skipped"
    assert len(http_receiver.requests_to("/internal")) == 1


def test_a_retry_recorded_after_its_method_was_deleted_is_cancelled_when_claimed(
    http_receiver: HTTPReceiver, allow_loopback: None, responder: User
) -> None:
    delivery = _retrying_webhook(http_receiver, responder)
    # The worker was sending while the method was deleted, then put it back.
    Delivery.objects.filter(pk=delivery.pk).update(
        contact_method=None, due_at=timezone.now()
    )

    assert delivery_send(delivery_id=delivery.pk) == "cancelled"

    delivery.refresh_from_db()
    assert delivery.status == "cancelled"
    assert delivery.error == "its contact method or channel was deleted"
    assert len(http_receiver.requests_to("/internal")) == 1


def test_deleting_contact_methods_in_the_admin_cancels_their_deliveries(
    responder: User, superuser: User
) -> None:
    method = contact_method_create(user=responder, kind="sms", address=PHONE)
    boss = Client()
    boss.force_login(superuser)

    response = boss.post(
        "/admin/notifications/contactmethod/",
        {"action": "delete_selected", "_selected_action": [method.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not ContactMethod.objects.filter(pk=method.pk).exists()
    (delivery,) = Delivery.objects.filter(purpose="verification")
    assert (delivery.status, delivery.error) == (
        "cancelled",
        "its contact method or channel was deleted",
    )


# --- Verification messages are capped ----------------------------------------------


def test_unverified_contact_methods_are_capped_per_user(
    responder: User, settings: Any
) -> None:
    settings.VIGIL_MAX_UNVERIFIED_CONTACT_METHODS = 2
    client = api_client(responder)
    for address in ("a@example.org", "b@example.org"):
        added = client.post(METHODS, {"kind": "email", "address": address})
        assert added.status_code == 201

    third = client.post(METHODS, {"kind": "email", "address": "c@example.org"})

    assert third.status_code == 400
    assert "2 contact methods waiting for their code" in third.json()["detail"]
    assert responder.contact_methods.count() == 2
    ContactMethod.objects.filter(address="a@example.org").update(
        verified_at=timezone.now()
    )
    again = client.post(METHODS, {"kind": "email", "address": "c@example.org"})
    assert again.status_code == 201


def test_verification_codes_are_capped_per_user_and_hour(
    responder: User, settings: Any
) -> None:
    settings.VIGIL_VERIFICATION_SENDS_PER_HOUR = 3
    client = api_client(responder)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        method = client.post(METHODS, {"kind": "email", "address": "a@example.org"})
        for _ in range(2):
            clock.shift(timedelta(seconds=31))
            sent = client.post(f"{METHODS}{method.json()['id']}/send-code/")
            assert sent.status_code == 202

        clock.shift(timedelta(seconds=31))
        refused = client.post(f"{METHODS}{method.json()['id']}/send-code/")
        elsewhere = client.post(METHODS, {"kind": "email", "address": "b@example.org"})

        assert refused.status_code == 429
        assert refused.json()["detail"] == (
            "at most 3 verification codes an hour; try again in 59 min"
        )
        assert refused.json()["retry_after"] == 3600 - 93
        assert elsewhere.status_code == 429  # the cap is the user's, not a method's
        assert responder.contact_methods.count() == 1
        assert Delivery.objects.filter(purpose="verification").count() == 3

        clock.shift(timedelta(hours=1) - timedelta(seconds=93))
        later = client.post(f"{METHODS}{method.json()['id']}/send-code/")
        assert later.status_code == 202
