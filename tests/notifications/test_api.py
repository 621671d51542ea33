"""The notifications REST API: contact methods, rules, channels, the delivery log."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents.models import Incident
from notifications.models import Channel, ContactMethod, Delivery, NotificationRule
from notifications.services import channel_create, notify, page_user
from tests.conftest import api_client
from tests.factories import MembershipFactory, ServiceFactory, TeamFactory, declare

METHODS = "/api/v1/contact-methods/"
RULES = "/api/v1/notification-rules/"
CHANNELS = "/api/v1/channels/"
DELIVERIES = "/api/v1/deliveries/"
HOOK = "https://hooks.example.com/services/T000/B000/s3cr3t-token"
PHONE = "+14155550100"


def add_method(client, kind: str = "sms", address: str = PHONE, **fields: object):
    return client.post(METHODS, {"kind": kind, "address": address, **fields})


def code_sent_to(method_id: int) -> str:
    """Return the code of the latest verification delivery of the method."""
    delivery = Delivery.objects.filter(
        contact_method_id=method_id, purpose=Delivery.Purpose.VERIFICATION
    ).latest("created_at", "id")
    return delivery.extra["code"]


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def sms(api) -> dict:
    response = add_method(api)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def verified(api, sms) -> ContactMethod:
    response = api.post(
        f"{METHODS}{sms['id']}/verify/", {"code": code_sent_to(sms["id"])}
    )
    assert response.status_code == 200, response.content
    return ContactMethod.objects.get(pk=sms["id"])


# --- Contact methods -----------------------------------------------------------


def test_adding_a_webhook_answers_its_full_address_and_secret_once(api, responder):
    response = add_method(api, "webhook", HOOK, label="Pager bridge")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == HOOK
    assert len(body["secret"]) == 64
    assert body["verified"] is False
    method = ContactMethod.objects.get(pk=body["id"])
    assert (method.user, method.label, method.secret) == (
        responder,
        "Pager bridge",
        body["secret"],
    )
    listed = api.get(METHODS).json()["results"]
    assert [m["address"] for m in listed] == ["https://hooks.example.com/…"]
    shown = api.get(f"{METHODS}{body['id']}/").json()
    assert shown["address"] == "https://hooks.example.com/…"
    assert "secret" not in shown
    assert "s3cr3t" not in str(listed)


def test_adding_a_contact_method_writes_a_verification_delivery_with_the_code(sms):
    delivery = Delivery.objects.get(contact_method_id=sms["id"])
    assert delivery.purpose == Delivery.Purpose.VERIFICATION
    assert delivery.status == Delivery.Status.PENDING
    assert (delivery.kind, delivery.destination) == ("sms", PHONE)
    assert len(delivery.extra["code"]) == 6
    assert delivery.extra["code"].isdigit()
    assert sms["address"] == PHONE
    assert sms["secret"] == ""


def test_phone_numbers_are_stored_in_e164(api):
    response = add_method(api, "voice", "+1 (415) 555-0100")
    assert response.status_code == 201, response.content
    assert ContactMethod.objects.get().address == PHONE


@pytest.mark.parametrize(
    ("kind", "address"),
    [
        ("email", "not-an-email"),
        ("sms", "555-0100"),
        ("voice", "+12"),
        ("slack", "http://hooks.slack.com/services/x"),
        ("discord", "ftp://discord.com/api/webhooks/1/x"),
        ("teams", "https://10.0.0.7/webhook"),
        ("webhook", "https://127.0.0.1/hook"),
        ("apprise", "no-such-scheme://nothing"),
    ],
)
def test_an_invalid_address_of_each_kind_is_400_and_stores_nothing(api, kind, address):
    response = add_method(api, kind, address)

    assert response.status_code == 400
    assert response.json()["field"] == "address"
    assert not ContactMethod.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "sms", "address": PHONE, "verified_at": "2026-01-01T00:00Z"},
         "verified_at"),
        ({"kind": "sms", "address": PHONE, "user": 1}, "user"),
        ({"kind": "pigeon", "address": PHONE}, "kind"),
    ],
)  # fmt: skip
def test_unknown_fields_and_kinds_are_400(api, payload, field):
    response = api.post(METHODS, payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not ContactMethod.objects.exists()


def test_the_same_contact_method_twice_is_400(api, sms):
    response = add_method(api, "sms", "+1 415 555 0100")
    assert response.status_code == 400
    assert response.json()["field"] == "address"
    assert ContactMethod.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_the_code_it_received_verifies_the_method(api, sms):
    response = api.post(
        f"{METHODS}{sms['id']}/verify/", {"code": code_sent_to(sms["id"])}
    )

    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True
    method = ContactMethod.objects.get(pk=sms["id"])
    assert method.verified_at is not None
    assert method.verification_code_hash == ""


def test_a_wrong_code_is_400_and_counted(api, sms):
    response = api.post(
        f"{METHODS}{sms['id']}/verify/", {"code": wrong(code_sent_to(sms["id"]))}
    )

    assert response.status_code == 400
    assert response.json()["field"] == "code"
    method = ContactMethod.objects.get(pk=sms["id"])
    assert method.verification_failures == 1
    assert method.verified_at is None


def test_after_five_wrong_codes_even_the_right_one_is_refused(api, sms):
    url, code = f"{METHODS}{sms['id']}/verify/", code_sent_to(sms["id"])
    for _ in range(5):
        assert api.post(url, {"code": wrong(code)}).status_code == 400

    response = api.post(url, {"code": code})

    assert response.status_code == 400
    assert "too many" in response.json()["detail"]
    assert ContactMethod.objects.get(pk=sms["id"]).verified_at is None


def test_an_expired_code_is_400(api, sms):
    code = code_sent_to(sms["id"])
    with time_machine.travel(timezone.now() + timedelta(minutes=31), tick=False):
        response = api.post(f"{METHODS}{sms['id']}/verify/", {"code": code})

    assert response.status_code == 400
    assert "expired" in response.json()["detail"]
    assert ContactMethod.objects.get(pk=sms["id"]).verified_at is None


def test_a_new_code_waits_thirty_seconds(api, sms):
    url = f"{METHODS}{sms['id']}/send-code/"
    assert api.post(url).status_code == 400
    assert Delivery.objects.count() == 1

    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        response = api.post(url)
        assert response.status_code == 202, response.content
        code = code_sent_to(sms["id"])
        verify = api.post(f"{METHODS}{sms['id']}/verify/", {"code": code})

    body = response.json()
    assert (body["purpose"], body["status"]) == ("verification", "pending")
    assert "extra" not in body
    assert Delivery.objects.filter(purpose="verification").count() == 2
    assert verify.status_code == 200, verify.content


def test_a_test_message_needs_a_verified_method(api, sms):
    response = api.post(f"{METHODS}{sms['id']}/test/")
    assert response.status_code == 400
    assert not Delivery.objects.filter(purpose=Delivery.Purpose.TEST).exists()


def test_a_verified_method_gets_a_test_message(api, verified):
    response = api.post(f"{METHODS}{verified.pk}/test/")

    assert response.status_code == 202, response.content
    delivery = Delivery.objects.get(purpose=Delivery.Purpose.TEST)
    assert response.json()["id"] == delivery.pk
    assert (delivery.contact_method, delivery.status) == (verified, "pending")


def test_another_users_contact_method_is_404(sms, outsider):
    client = api_client(outsider)
    url = f"{METHODS}{sms['id']}/"
    assert client.get(METHODS).json()["count"] == 0
    assert client.get(url).status_code == 404
    for action in ("verify/", "send-code/", "test/"):
        assert client.post(url + action, {"code": "000000"}).status_code == 404
    assert client.delete(url).status_code == 404
    assert ContactMethod.objects.filter(pk=sms["id"]).exists()
    assert Delivery.objects.count() == 1


@pytest.mark.parametrize("path", [METHODS, RULES, CHANNELS, DELIVERIES])
def test_anonymous_requests_are_401(db, path):
    client = api_client()
    assert client.get(path).status_code == 401
    assert client.post(path, {}).status_code == 401


def test_anonymous_cannot_add_a_contact_method(db):
    assert add_method(api_client()).status_code == 401
    assert not ContactMethod.objects.exists()


# --- Notification rules -----------------------------------------------------------


def test_a_rule_reaches_you_on_your_verified_method(api, verified, responder):
    response = api.post(
        RULES, {"urgency": "high", "contact_method": verified.pk, "delay": "00:05:00"}
    )

    assert response.status_code == 201, response.content
    assert response.json()["delay"] == "00:05:00"
    rule = NotificationRule.objects.get()
    assert (rule.user, rule.contact_method, rule.urgency) == (
        responder,
        verified,
        "high",
    )
    assert rule.delay == timedelta(minutes=5)


def test_a_rule_on_another_users_method_is_400(api, outsider):
    theirs = ContactMethod.objects.create(
        user=outsider, kind="sms", address=PHONE, verified_at=timezone.now()
    )
    response = api.post(RULES, {"urgency": "high", "contact_method": theirs.pk})
    assert response.status_code == 400
    assert "contact_method" in response.json()
    assert not NotificationRule.objects.exists()


@pytest.mark.parametrize("delay", ["1 00:00:01", "-00:05:00"])
def test_a_delay_outside_zero_to_twenty_four_hours_is_400(api, verified, delay):
    response = api.post(
        RULES, {"urgency": "low", "contact_method": verified.pk, "delay": delay}
    )
    assert response.status_code == 400
    assert "delay" in str(response.json())
    assert not NotificationRule.objects.exists()


def test_the_same_rule_twice_is_400(api, verified):
    payload = {"urgency": "high", "contact_method": verified.pk, "delay": "00:00:00"}
    assert api.post(RULES, payload).status_code == 201
    response = api.post(RULES, payload)
    assert response.status_code == 400
    assert NotificationRule.objects.count() == 1


def test_the_rule_list_shows_only_your_rules(api, verified, outsider):
    NotificationRule.objects.create(
        user=verified.user, urgency="high", contact_method=verified
    )
    theirs = ContactMethod.objects.create(user=outsider, kind="email", address="o@x.io")
    NotificationRule.objects.create(
        user=outsider, urgency="high", contact_method=theirs
    )

    rows = api.get(RULES).json()["results"]

    assert [r["contact_method"] for r in rows] == [verified.pk]
    assert api_client(outsider).get(RULES).json()["results"][0]["contact_method"] == (
        theirs.pk
    )


# --- Channels ------------------------------------------------------------------------


def add_channel(client, **fields: object):
    payload = {"name": "#incidents", "kind": "slack", "address": HOOK, **fields}
    return client.post(CHANNELS, payload)


def test_a_team_channel_is_created_by_team_slug(api, team):
    response = add_channel(api, team="platform")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["team"], body["service"], body["address"]) == ("platform", None, HOOK)
    channel = Channel.objects.get()
    assert (channel.team, channel.enabled, channel.on_initial) == (team, True, True)
    assert api.get(f"{CHANNELS}{channel.pk}/").json()["address"] == (
        "https://hooks.example.com/…"
    )


def test_a_service_channel_is_created_by_service_slug(api, service):
    response = add_channel(
        api, service="website", kind="webhook", minimum_severity="P1", on_update=False
    )

    assert response.status_code == 201, response.content
    assert len(response.json()["secret"]) == 64
    channel = Channel.objects.get()
    assert (channel.service, channel.team, channel.minimum_severity_id) == (
        service,
        None,
        "P1",
    )
    assert channel.on_update is False


def test_a_channel_posted_as_a_form_keeps_its_default_flags(api, team):
    payload = {
        "name": "#incidents",
        "kind": "slack",
        "address": HOOK,
        "team": "platform",
    }
    response = api.post(CHANNELS, payload, format="multipart")

    assert response.status_code == 201, response.content
    channel = Channel.objects.get()
    flags = (
        channel.enabled,
        channel.on_initial,
        channel.on_update,
        channel.on_resolution,
    )
    assert flags == (True, True, True, True)


@pytest.mark.parametrize("owners", [{}, {"team": "platform", "service": "website"}])
def test_a_channel_needs_exactly_one_of_team_and_service(api, service, owners):
    response = add_channel(api, **owners)
    assert response.status_code == 400
    assert response.json()["field"] == "team"
    assert not Channel.objects.exists()


def test_a_channel_for_a_team_you_are_not_in_is_400(api, team, outsider):
    bots = TeamFactory(slug="robots")
    ServiceFactory(team=bots, slug="robot-api")
    for owner in ({"team": "robots"}, {"service": "robot-api"}, {"team": "bots"}):
        response = add_channel(api, **owner)
        assert response.status_code == 400, owner
        assert set(owner) <= set(response.json())
    assert not Channel.objects.exists()


def test_sms_and_voice_are_not_channel_kinds(api, team):
    for kind in ("sms", "voice"):
        response = add_channel(api, team="platform", kind=kind, address=PHONE)
        assert response.status_code == 400
        assert "kind" in response.json()
    assert not Channel.objects.exists()


@pytest.fixture
def channel(team) -> Channel:
    return channel_create(name="#incidents", kind="slack", address=HOOK, team=team)


def test_outsiders_cannot_see_change_or_remove_your_teams_channel(channel, outsider):
    client = api_client(outsider)
    url = f"{CHANNELS}{channel.pk}/"

    assert client.get(CHANNELS).json()["count"] == 0
    assert client.get(url).status_code == 404
    assert client.patch(url, {"name": "#pwned"}).status_code == 404
    assert client.delete(url).status_code == 404
    channel.refresh_from_db()
    assert channel.name == "#incidents"


def test_patching_a_channel_validates_the_new_address(api, channel):
    url = f"{CHANNELS}{channel.pk}/"
    response = api.patch(url, {"address": "http://hooks.example.com/plain"})
    assert response.status_code == 400
    assert response.json()["field"] == "address"
    channel.refresh_from_db()
    assert channel.address == HOOK

    new = "https://hooks.example.com/services/T000/B000/rotated"
    response = api.patch(url, {"address": new, "enabled": False})
    assert response.status_code == 200, response.content
    assert response.json()["address"] == "https://hooks.example.com/…"
    channel.refresh_from_db()
    assert (channel.address, channel.enabled) == (new, False)


def test_a_channel_cannot_be_moved_to_another_team_or_become_sms(api, channel):
    url = f"{CHANNELS}{channel.pk}/"
    assert api.patch(url, {"team": "bots"}).status_code == 400
    assert api.patch(url, {"kind": "sms", "address": PHONE}).status_code == 400
    channel.refresh_from_db()
    assert (channel.kind, channel.address) == ("slack", HOOK)


# --- The delivery log ----------------------------------------------------------------


@pytest.fixture
def logged(service, channel, responder, verified) -> Incident:
    """An incident with a channel broadcast and a page to the responder."""
    incident = declare(service, "P1", by=responder)
    page_user(incident=incident, user=responder, event_key="esc1")
    return incident


def test_the_delivery_log_shows_your_incidents_deliveries(api, logged, verified):
    rows = api.get(DELIVERIES, {"incident": logged.public_id}).json()["results"]

    assert sorted((r["purpose"], r["kind"]) for r in rows) == [
        ("broadcast", "slack"),
        ("page", "sms"),
    ]
    assert {r["incident"] for r in rows} == {logged.public_id}
    slack = next(r for r in rows if r["kind"] == "slack")
    assert slack["destination"] == "https://hooks.example.com/…"
    assert "s3cr3t" not in str(rows)


def test_outsiders_see_none_of_your_deliveries(logged, outsider):
    client = api_client(outsider)
    assert client.get(DELIVERIES).json()["count"] == 0
    for delivery in Delivery.objects.all():
        assert client.get(f"{DELIVERIES}{delivery.pk}/").status_code == 404
        assert client.post(f"{DELIVERIES}{delivery.pk}/retry/").status_code == 404


def test_a_team_mate_sees_the_incident_deliveries_but_not_your_verification(
    logged, team, verified
):
    mate = MembershipFactory(team=team, user__username="mate").user
    rows = api_client(mate).get(DELIVERIES).json()["results"]
    purposes = sorted(r["purpose"] for r in rows)
    assert purposes == ["broadcast", "page"]


def test_the_delivery_log_filters_by_status_incident_and_kind(api, logged, service):
    other = declare(service, "P3", title="Slow search")
    Delivery.objects.filter(kind="slack", incident=logged).update(status="failed")

    failed = api.get(DELIVERIES, {"status": "failed"}).json()["results"]
    assert [(r["kind"], r["incident"]) for r in failed] == [("slack", logged.public_id)]
    mine = api.get(DELIVERIES, {"incident": other.public_id}).json()["results"]
    assert [r["message_kind"] for r in mine] == ["initial"]
    sms = api.get(DELIVERIES, {"kind": "sms"}).json()["results"]
    assert sorted(r["purpose"] for r in sms) == ["page", "verification"]


def test_an_unknown_status_filter_is_400(api, logged):
    response = api.get(DELIVERIES, {"status": "bogus"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_retrying_a_failed_delivery_makes_it_pending_again(api, logged):
    delivery = Delivery.objects.get(kind="slack", incident=logged)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="failed", attempts=3, error="HTTP 500"
    )

    response = api.post(f"{DELIVERIES}{delivery.pk}/retry/")

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("pending", 0, "")


def test_retrying_a_sent_delivery_is_409(api, logged):
    delivery = Delivery.objects.get(kind="slack", incident=logged)
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sent", sent_at=timezone.now()
    )

    response = api.post(f"{DELIVERIES}{delivery.pk}/retry/")

    assert response.status_code == 409
    assert response.json()["code"] == "delivery_state"
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_a_resolution_is_logged_once_per_channel(api, logged, channel):
    notify(incident=logged, message_kind="resolution", event_key="tl-x")
    notify(incident=logged, message_kind="resolution", event_key="tl-x")
    rows = api.get(DELIVERIES, {"purpose": "broadcast"}).json()["results"]
    assert sorted(r["message_kind"] for r in rows) == ["initial", "resolution"]


def test_the_delivery_log_is_read_only(api, logged):
    delivery = Delivery.objects.first()
    url = f"{DELIVERIES}{delivery.pk}/"
    assert api.patch(url, {"status": "sent"}).status_code == 405
    assert api.delete(url).status_code == 405
    assert api.post(DELIVERIES, {}).status_code == 405
    assert Delivery.objects.filter(pk=delivery.pk, status="pending").exists()


# --- OpenAPI -------------------------------------------------------------------------


def test_the_schema_describes_the_notifications_endpoints(client):
    text = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/contact-methods/",
        "/api/v1/contact-methods/{id}/verify/",
        "/api/v1/contact-methods/{id}/send-code/",
        "/api/v1/contact-methods/{id}/test/",
        "/api/v1/notification-rules/",
        "/api/v1/channels/{id}/",
        "/api/v1/deliveries/",
        "/api/v1/deliveries/{id}/retry/",
    ):
        assert f"{path}:" in text, path
