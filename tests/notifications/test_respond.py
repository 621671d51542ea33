"""Acknowledge and resolve from a message: the link page and the SMS reply."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core import signing
from django.test import Client
from django.utils import timezone
from twilio.request_validator import RequestValidator

from incidents.models import Incident
from incidents.services import incident_acknowledge
from incidents.timeline_kinds import ACKNOWLEDGED, STATUS_CHANGED
from notifications.models import ActionLink, ContactMethod
from notifications.services import action_links_issue
from notifications.services.links import SALT, IssuedLinks
from tests.factories import MembershipFactory, verify

PHONE = "+14155550100"
SMS_PATH = "/notifications/twilio/sms/"
TOKEN = "twilio-auth-token-for-tests"


@pytest.fixture
def phone(responder) -> ContactMethod:
    return ContactMethod.objects.create(
        user=responder, kind="sms", address=PHONE, verified_at=timezone.now()
    )


@pytest.fixture
def links(incident, responder, phone) -> IssuedLinks:
    return action_links_issue(incident=incident, user=responder)


def path_of(url: str) -> str:
    assert url.startswith(django_settings.VIGIL_BASE_URL + "/respond/")
    return url.removeprefix(django_settings.VIGIL_BASE_URL)


def link(incident: Incident, action: str) -> ActionLink:
    return ActionLink.objects.get(incident=incident, action=action)


def status_of(incident: Incident) -> str:
    incident.refresh_from_db()
    return incident.status


def timeline_kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("id").values_list("kind", flat=True))


# --- The link page -------------------------------------------------------------


def test_opening_a_link_shows_the_incident_and_does_not_act(client, links, incident):
    response = client.get(path_of(links.acknowledge_url))

    assert response.status_code == 200
    page = response.content.decode()
    assert incident.public_id in page
    assert '<form method="post">' in page
    assert "acknowledge the incident as you" in page
    assert status_of(incident) == "triggered"
    assert link(incident, "acknowledge").used_at is None


def test_the_button_acknowledges_as_the_links_user(links, incident, responder):
    browser = Client(enforce_csrf_checks=True)
    url = path_of(links.acknowledge_url)
    browser.get(url)  # the page sets the CSRF cookie its form posts back
    token = browser.cookies[django_settings.CSRF_COOKIE_NAME].value

    response = browser.post(url, {"csrfmiddlewaretoken": token})

    assert response.status_code == 200, response.content
    assert "Acknowledged. Thank you." in response.content.decode()
    assert status_of(incident) == "acknowledged"
    event = incident.timeline.get(kind=ACKNOWLEDGED)
    assert (event.via, event.actor) == ("link", responder)
    used = link(incident, "acknowledge")
    assert used.used_at is not None
    assert used.used_via == "link"


def test_a_link_works_once(client, links, incident):
    url = path_of(links.acknowledge_url)
    assert client.post(url).status_code == 200
    before = timeline_kinds(incident)

    again = client.post(url)

    assert again.status_code == 410
    assert "already used" in again.content.decode()
    assert client.get(url).status_code == 410
    assert timeline_kinds(incident) == before


def test_the_resolve_link_resolves(client, links, incident, responder):
    verify(incident)
    response = client.post(path_of(links.resolve_url))

    assert response.status_code == 200
    assert "Resolved. Thank you." in response.content.decode()
    assert status_of(incident) == "resolved"
    event = incident.timeline.get(kind=STATUS_CHANGED)
    assert (event.via, event.actor, event.data["to"]) == ("link", responder, "resolved")
    assert link(incident, "acknowledge").used_at is None


def test_after_acknowledging_the_resolve_link_still_works(client, links, incident):
    verify(incident)
    assert client.post(path_of(links.acknowledge_url)).status_code == 200
    assert client.post(path_of(links.resolve_url)).status_code == 200
    assert status_of(incident) == "resolved"


def tampered(url: str) -> str:
    path = path_of(url)
    token = path.removeprefix("/respond/").rstrip("/")
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    return f"/respond/{flipped}/"


def test_a_tampered_token_is_refused_and_changes_nothing(client, links, incident):
    url = tampered(links.acknowledge_url)
    before = timeline_kinds(incident)

    for response in (client.get(url), client.post(url)):
        assert response.status_code == 410
        assert "not valid" in response.content.decode()
    assert status_of(incident) == "triggered"
    assert timeline_kinds(incident) == before
    assert link(incident, "acknowledge").used_at is None


def test_a_signed_token_with_the_wrong_nonce_is_refused(client, links, incident):
    row = link(incident, "acknowledge")
    forged = signing.dumps([row.pk, "guessed-nonce"], salt=SALT, compress=True)
    response = client.post(f"/respond/{forged}/")
    assert response.status_code == 410
    assert status_of(incident) == "triggered"


def test_a_token_of_another_salt_is_refused(client, links, incident):
    row = link(incident, "acknowledge")
    forged = signing.dumps([row.pk, row.nonce], compress=True)
    assert client.post(f"/respond/{forged}/").status_code == 410
    assert status_of(incident) == "triggered"


def test_an_expired_link_is_refused(client, links, incident, settings):
    later = timezone.now() + timedelta(
        hours=settings.VIGIL_ACTION_LINK_HOURS, seconds=1
    )
    with time_machine.travel(later, tick=False):
        shown = client.get(path_of(links.acknowledge_url))
        pressed = client.post(path_of(links.acknowledge_url))

    for response in (shown, pressed):
        assert response.status_code == 410
        assert "expired" in response.content.decode()
    assert status_of(incident) == "triggered"
    assert link(incident, "acknowledge").used_at is None


def test_a_link_still_works_just_before_it_expires(client, links, incident, settings):
    later = timezone.now() + timedelta(
        hours=settings.VIGIL_ACTION_LINK_HOURS, seconds=-5
    )
    with time_machine.travel(later, tick=False):
        assert client.post(path_of(links.acknowledge_url)).status_code == 200
    assert status_of(incident) == "acknowledged"


def test_acknowledging_an_acknowledged_incident_is_refused_and_leaves_the_link(
    client, links, incident, team_lead
):
    incident_acknowledge(incident=incident, by=team_lead)
    before = timeline_kinds(incident)

    response = client.post(path_of(links.acknowledge_url))

    assert response.status_code == 409
    assert "already acknowledged" in response.content.decode()
    assert timeline_kinds(incident) == before
    assert incident.timeline.get(kind="acknowledged").actor == team_lead
    assert link(incident, "acknowledge").used_at is None


def test_issuing_again_returns_the_same_live_links(incident, responder, links):
    again = action_links_issue(incident=incident, user=responder)
    assert again == links
    assert ActionLink.objects.count() == 2


# --- Twilio's SMS webhook ------------------------------------------------------------


@pytest.fixture
def twilio_token(settings) -> str:
    settings.TWILIO_AUTH_TOKEN = TOKEN
    return TOKEN


def sms_reply(
    client: Client,
    body: str,
    *,
    sender: str = PHONE,
    token: str = TOKEN,
    signature: str | None = None,
):
    """POST what Twilio posts for an inbound SMS, signed with `token`."""
    params = {
        "MessageSid": "SM" + "0" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }
    url = django_settings.VIGIL_BASE_URL + SMS_PATH
    if signature is None:
        signature = RequestValidator(token).compute_signature(url, params)
    return client.post(
        SMS_PATH,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def test_ack_and_the_code_from_the_verified_number_acknowledges(
    client, twilio_token, links, incident, responder
):
    response = sms_reply(client, f"ACK {links.code}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    text = response.content.decode()
    assert "<Response><Message>" in text
    assert f"{incident.public_id} acknowledged" in text
    assert status_of(incident) == "acknowledged"
    event = incident.timeline.get(kind="acknowledged")
    assert (event.via, event.actor) == ("sms", responder)
    assert link(incident, "acknowledge").used_via == "sms"


def test_the_reply_word_is_case_insensitive(client, twilio_token, links, incident):
    response = sms_reply(client, f"  ack {links.code} ")
    assert "acknowledged" in response.content.decode()
    assert status_of(incident) == "acknowledged"


def test_resolve_and_the_code_resolves(
    client, twilio_token, links, incident, responder
):
    verify(incident)
    response = sms_reply(client, f"RESOLVE {links.code}")

    assert f"{incident.public_id} resolved" in response.content.decode()
    assert status_of(incident) == "resolved"
    event = incident.timeline.get(kind="status_changed")
    assert (event.via, event.actor) == ("sms", responder)


def test_a_wrong_signature_is_403_and_changes_nothing(
    client, twilio_token, links, incident
):
    other = RequestValidator("not-the-token").compute_signature(
        django_settings.VIGIL_BASE_URL + SMS_PATH, {"Body": f"ACK {links.code}"}
    )
    for signature in ("", "bm9wZQ==", other):
        response = sms_reply(client, f"ACK {links.code}", signature=signature)
        assert response.status_code == 403
    assert sms_reply(client, f"ACK {links.code}", token="another").status_code == 403
    assert status_of(incident) == "triggered"
    assert link(incident, "acknowledge").used_at is None


def test_without_a_twilio_token_every_reply_is_refused(
    client, settings, links, incident
):
    settings.TWILIO_AUTH_TOKEN = ""
    assert sms_reply(client, f"ACK {links.code}", token="x").status_code == 403
    assert status_of(incident) == "triggered"


def test_the_right_code_from_another_number_finds_no_page(
    client, twilio_token, links, incident
):
    response = sms_reply(client, f"ACK {links.code}", sender="+14155550199")

    assert response.status_code == 200
    assert f"no page with code {links.code}" in response.content.decode()
    assert status_of(incident) == "triggered"
    assert link(incident, "acknowledge").used_at is None


def test_the_code_does_not_work_from_an_unverified_number_of_the_same_user(
    client, twilio_token, links, incident, responder
):
    ContactMethod.objects.create(user=responder, kind="sms", address="+14155550177")
    response = sms_reply(client, f"ACK {links.code}", sender="+14155550177")
    assert "no page with code" in response.content.decode()
    assert status_of(incident) == "triggered"


def test_the_code_does_not_work_from_another_users_verified_number(
    client, twilio_token, links, incident, outsider
):
    ContactMethod.objects.create(
        user=outsider, kind="sms", address="+14155550188", verified_at=timezone.now()
    )
    response = sms_reply(client, f"ACK {links.code}", sender="+14155550188")
    assert "no page with code" in response.content.decode()
    assert status_of(incident) == "triggered"


@pytest.mark.parametrize("body", ["", "thanks, on it", "ACK", "ACK twelve", "STOP"])
def test_a_reply_that_is_not_a_command_gets_a_helpful_answer(
    client, twilio_token, links, incident, body
):
    response = sms_reply(client, body)

    assert response.status_code == 200
    assert "ACK &lt;code&gt;" in response.content.decode()
    assert status_of(incident) == "triggered"


def test_a_code_works_once_by_sms(client, twilio_token, links, incident):
    sms_reply(client, f"ACK {links.code}")
    again = sms_reply(client, f"ACK {links.code}")
    assert "no page with code" in again.content.decode()
    assert timeline_kinds(incident).count("acknowledged") == 1


def test_an_sms_ack_of_an_acknowledged_incident_says_so_and_leaves_the_code(
    client, twilio_token, links, incident, team_lead
):
    incident_acknowledge(incident=incident, by=team_lead)

    response = sms_reply(client, f"ACK {links.code}")

    assert "already acknowledged" in response.content.decode()
    assert link(incident, "acknowledge").used_at is None


def test_an_expired_code_is_refused_by_sms(
    client, twilio_token, links, incident, settings
):
    later = timezone.now() + timedelta(
        hours=settings.VIGIL_ACTION_LINK_HOURS, minutes=1
    )
    with time_machine.travel(later, tick=False):
        response = sms_reply(client, f"ACK {links.code}")
    assert "expired" in response.content.decode()
    assert status_of(incident) == "triggered"


def test_the_webhook_only_accepts_post(client, twilio_token):
    assert client.get(SMS_PATH).status_code == 405


def test_a_shared_phone_acts_for_the_user_the_code_was_sent_to(
    client, twilio_token, links, incident, team
):
    partner: User = MembershipFactory(team=team, user__username="partner").user
    ContactMethod.objects.create(
        user=partner, kind="sms", address=PHONE, verified_at=timezone.now()
    )
    response = sms_reply(client, f"ACK {links.code}")
    assert "acknowledged" in response.content.decode()
    assert incident.timeline.get(kind="acknowledged").actor.username == "responder"


# --- Guessing reply codes -----------------------------------------------------------


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** len(code):0{len(code)}d}"


def test_wrong_codes_lock_the_number_out_even_for_the_right_code(
    client, twilio_token, links, incident, settings
):
    settings.VIGIL_SMS_REPLY_MAX_FAILURES = 3
    settings.VIGIL_SMS_REPLY_LOCKOUT_MINUTES = 15
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            refused = sms_reply(client, f"ACK {wrong_code(links.code)}")
            assert "no page with code" in refused.content.decode()
            clock.shift(timedelta(minutes=1))

        locked = sms_reply(client, f"ACK {links.code}")

        assert "too many wrong codes from this number" in locked.content.decode()
        assert "try again in 12 min" in locked.content.decode()
        assert status_of(incident) == "triggered"
        assert link(incident, "acknowledge").used_at is None

        clock.shift(timedelta(minutes=12))  # the first failure is 15 min old
        freed = sms_reply(client, f"ACK {links.code}")
        assert f"{incident.public_id} acknowledged" in freed.content.decode()


def test_wrong_codes_from_all_numbers_of_a_user_count_together(
    client, twilio_token, links, incident, responder, settings
):
    settings.VIGIL_SMS_REPLY_MAX_FAILURES = 4
    other = "+14155550122"
    ContactMethod.objects.create(
        user=responder, kind="sms", address=other, verified_at=timezone.now()
    )
    for sender in (PHONE, other, PHONE, other):
        sms_reply(client, f"ACK {wrong_code(links.code)}", sender=sender)

    for sender in (PHONE, other):
        locked = sms_reply(client, f"ACK {links.code}", sender=sender)
        assert "too many wrong codes" in locked.content.decode()
    assert status_of(incident) == "triggered"


def test_wrong_codes_older_than_the_lockout_no_longer_count(
    client, twilio_token, links, incident, settings
):
    settings.VIGIL_SMS_REPLY_MAX_FAILURES = 3
    settings.VIGIL_SMS_REPLY_LOCKOUT_MINUTES = 15
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(2):
            sms_reply(client, f"ACK {wrong_code(links.code)}")
        clock.shift(timedelta(minutes=16))
        for _ in range(2):
            sms_reply(client, f"ACK {wrong_code(links.code)}")

        verify(incident)
        response = sms_reply(client, f"RESOLVE {links.code}")

    assert f"{incident.public_id} resolved" in response.content.decode()


def test_a_wrong_code_from_an_unknown_number_locks_only_that_number(
    client, twilio_token, links, incident, settings
):
    settings.VIGIL_SMS_REPLY_MAX_FAILURES = 2
    for _ in range(2):
        sms_reply(client, f"ACK {links.code}", sender="+14155550199")

    locked = sms_reply(client, f"ACK {links.code}", sender="+14155550199")
    mine = sms_reply(client, f"ACK {links.code}")

    assert "too many wrong codes" in locked.content.decode()
    assert f"{incident.public_id} acknowledged" in mine.content.decode()
