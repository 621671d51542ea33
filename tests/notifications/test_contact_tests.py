"""The quarterly contact-method test: confirm links, CONFIRM replies, the
reminder and the report to the team lead, and where "unconfirmed since" shows."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import call_command
from django.test import Client

from notifications.models import (
    ContactMethod,
    ContactTest,
    ContactTestRound,
    Delivery,
    Kind,
    ReplyFailure,
)
from notifications.selectors import delivery_as_seen_by
from notifications.services import (
    contact_test_round_start,
    contact_test_round_start_due,
    contact_tests_sweep,
    deliveries_send,
)
from tests.concurrency import in_threads
from tests.conftest import api_client
from tests.notifications.servers import Answer, HTTPReceiver, TwilioAPI
from tests.notifications.test_respond import sms_reply

# The quarter's first day at the test hour (10:00 in Vigil's zone, UTC here).
START = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)
PHONE = "+14155550123"
HOOK = "/hook"
LINK = re.compile(r"https?://[^/\s]+(/contact-test/[^/\s\"]+/)")


@dataclass
class World:
    responder: User
    lead: User
    email: ContactMethod
    hook: ContactMethod
    sms: ContactMethod
    unverified: ContactMethod
    receiver: HTTPReceiver
    twilio: TwilioAPI

    def send_all(self) -> None:
        pending = Delivery.objects.filter(status="pending").order_by("id")
        deliveries_send(delivery_ids=list(pending.values_list("pk", flat=True)))

    def test_of(self, method: ContactMethod) -> ContactTest:
        return ContactTest.objects.get(contact_method=method)

    def sms_bodies(self) -> list[str]:
        return [
            r.form["Body"][0]
            for r in self.receiver.requests_to(self.twilio.messages_path)
        ]


def method(user: User, kind: str, address: str, verified: bool = True) -> ContactMethod:
    return ContactMethod.objects.create(
        user=user,
        kind=kind,
        address=address,
        secret="k" if kind == Kind.WEBHOOK else "",
        verified_at=START - 30 * 24 * H if verified else None,
    )


@pytest.fixture
def world(responder, team_lead, twilio_api, http_receiver, settings) -> World:
    settings.TIME_ZONE = "UTC"
    for user, first, last in ((responder, "Riley", "Ng"), (team_lead, "Dana", "Reyes")):
        user.first_name, user.last_name = first, last
        user.save()
    http_receiver.answer(HOOK, Answer(200, "ok"))
    http_receiver.answer(
        twilio_api.messages_path, Answer(201, {"sid": "SM1", "status": "queued"})
    )
    method(team_lead, Kind.EMAIL, "lead@example.com")
    return World(
        responder=responder,
        lead=team_lead,
        email=method(responder, Kind.EMAIL, "responder@example.com"),
        hook=method(responder, Kind.WEBHOOK, http_receiver.url(HOOK)),
        sms=method(responder, Kind.SMS, PHONE),
        unverified=method(responder, Kind.EMAIL, "new@example.com", verified=False),
        receiver=http_receiver,
        twilio=twilio_api,
    )


def start_round(world: World) -> ContactTestRound:
    with time_machine.travel(START, tick=False):
        started = contact_test_round_start_due()
        world.send_all()
    assert started is not None
    return started


def sweep_at(world: World, at: datetime) -> int:
    with time_machine.travel(at, tick=False):
        done = contact_tests_sweep()
        world.send_all()
    return done


def mail_to(address: str = "responder@example.com") -> EmailMessage:
    """Return the last e-mail sent to `address`."""
    return [m for m in mail.outbox if m.to == [address]][-1]


def confirm_path(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def test_a_round_sends_one_test_to_each_verified_method_and_none_to_unverified(
    world,
):
    start_round(world)

    tests = ContactTest.objects.filter(contact_method__user=world.responder)
    assert [t.contact_method for t in tests.order_by("contact_method_id")] == [
        world.email,
        world.hook,
        world.sms,
    ]
    sent = Delivery.objects.filter(purpose="contact_test")
    assert sorted(sent.values_list("status", flat=True)) == ["sent"] * 4
    assert len(mail.outbox) == 2  # the lead's e-mail is tested too
    email = mail_to()
    assert email.subject == "Vigil contact-method test: please confirm"
    assert "not an incident" in email.body
    (request,) = world.receiver.requests_to(HOOK)
    assert confirm_path(request.json["text"]) != confirm_path(email.body)
    (sms,) = world.sms_bodies()
    assert f"Reply CONFIRM {world.test_of(world.sms).code}" in sms
    for row in ContactMethod.objects.filter(verified_at__isnull=False):
        assert row.unconfirmed_since == START
    world.unverified.refresh_from_db()
    assert world.unverified.unconfirmed_since is None


def test_the_quarters_round_starts_once_at_its_hour_and_again_next_quarter(world):
    with time_machine.travel(START - H, tick=False):
        assert contact_test_round_start_due() is None
    with time_machine.travel(START, tick=False):
        first = contact_test_round_start_due()
        assert contact_test_round_start_due() is None
    with time_machine.travel(START + 40 * 24 * H, tick=False):
        assert contact_test_round_start_due() is None
    with time_machine.travel(datetime(2027, 1, 1, 10, tzinfo=UTC), tick=False):
        second = contact_test_round_start_due()

    assert [first.key if first else None, second.key if second else None] == [
        "2026-Q4",
        "2027-Q1",
    ]
    assert ContactTest.objects.filter(round=first).count() == 4


def test_opening_the_link_shows_the_test_and_confirms_nothing(world, client):
    start_round(world)
    path = confirm_path(mail_to().body)

    response = client.get(path)

    assert response.status_code == 200
    assert '<form method="post">' in response.content.decode()
    assert world.test_of(world.email).confirmed_at is None


def test_the_button_confirms_once_and_a_second_use_is_refused(world):
    start_round(world)
    path = confirm_path(mail_to().body)
    browser = Client(enforce_csrf_checks=True)
    browser.get(path)
    token = browser.cookies[django_settings.CSRF_COOKIE_NAME].value
    later = START + 5 * H

    with time_machine.travel(later, tick=False):
        response = browser.post(path, {"csrfmiddlewaretoken": token})
        again = browser.post(path, {"csrfmiddlewaretoken": token})

    assert response.status_code == 200, response.content
    assert "Confirmed" in response.content.decode()
    assert again.status_code == 410
    assert "already confirmed (link at" in again.content.decode()
    test = world.test_of(world.email)
    assert (test.confirmed_at, test.confirmed_via) == (later, "link")
    world.email.refresh_from_db()
    assert (world.email.test_confirmed_at, world.email.unconfirmed_since) == (
        later,
        None,
    )
    assert world.test_of(world.hook).confirmed_at is None


def test_a_post_without_the_csrf_token_confirms_nothing(world):
    start_round(world)
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(confirm_path(mail_to().body))

    assert response.status_code == 403
    assert world.test_of(world.email).confirmed_at is None


def test_an_sms_reply_confirm_and_the_code_confirms_the_number(world, client):
    start_round(world)
    mail.outbox.clear()
    code = world.test_of(world.sms).code
    wrong = "0000" if code != "0000" else "1111"

    refused = sms_reply(client, f"CONFIRM {wrong}", sender=PHONE, token="token-123")
    answered = sms_reply(client, f"confirm {code}", sender=PHONE, token="token-123")

    assert "no contact test with code" in refused.content.decode()
    assert ReplyFailure.objects.filter(phone=PHONE).count() == 1
    assert "confirmed, this number reaches you" in answered.content.decode()
    assert world.test_of(world.sms).confirmed_via == "sms"
    assert world.test_of(world.email).confirmed_at is None


def test_an_unconfirmed_test_is_reminded_once_after_72_hours(world):
    start_round(world)
    mail.outbox.clear()

    assert sweep_at(world, START + 71 * H) == 0
    assert sweep_at(world, START + 72 * H) == 4
    assert sweep_at(world, START + 100 * H) == 0

    reminder = mail_to()
    assert len(mail.outbox) == 2
    assert reminder.subject == "Reminder: Vigil contact-method test: please confirm"
    assert "has not been confirmed yet" in reminder.body
    reminders = Delivery.objects.filter(event_key__endswith=":reminder")
    assert reminders.count() == 4


def test_a_confirmed_test_is_neither_reminded_nor_reported(world, client):
    start_round(world)
    client.post(confirm_path(mail_to().body))

    sweep_at(world, START + 72 * H)
    sweep_at(world, START + 144 * H)

    email = world.test_of(world.email)
    assert (email.reminded_at, email.reported_at) == (None, None)
    assert world.test_of(world.hook).reported_at == START + 144 * H


def test_still_unconfirmed_after_the_reminder_is_reported_to_the_lead_once(world):
    start_round(world)
    sweep_at(world, START + 72 * H)
    mail.outbox.clear()

    assert sweep_at(world, START + 143 * H) == 0
    assert sweep_at(world, START + 144 * H) == 4
    assert sweep_at(world, START + 200 * H) == 0

    (report,) = mail.outbox
    assert report.to == ["lead@example.com"]
    assert report.subject == "4 contact methods not confirmed"
    assert "- Riley Ng: SMS (Twilio) +14155550123, unconfirmed since" in report.body
    assert "2026-10-01 10:00 UTC" in report.body
    reported = ContactTest.objects.values_list("reported_to", flat=True)
    assert set(reported) == {"Dana Reyes"}


def test_a_person_without_a_team_lead_is_recorded_as_such(world):
    world.lead.memberships.update(role="member")
    start_round(world)
    sweep_at(world, START + 72 * H)
    mail.outbox.clear()

    sweep_at(world, START + 144 * H)

    assert mail.outbox == []
    assert set(ContactTest.objects.values_list("reported_to", flat=True)) == {
        "no team lead"
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_sweeps_remind_and_report_once(world):
    start_round(world)

    def sweep(n: int) -> None:
        with time_machine.travel(START + 72 * H, tick=False):
            contact_tests_sweep()

    assert in_threads(4, sweep) == []
    assert Delivery.objects.filter(event_key__endswith=":reminder").count() == 4

    def report(n: int) -> None:
        with time_machine.travel(START + 144 * H, tick=False):
            contact_tests_sweep()

    assert in_threads(4, report) == []
    assert Delivery.objects.filter(message_kind="notice").count() == 1


def test_the_api_and_admin_show_unconfirmed_since_and_last_confirmed(world, client):
    start_round(world)
    confirmed_at = START + 2 * H
    with time_machine.travel(confirmed_at, tick=False):
        client.post(confirm_path(mail_to().body))
    User.objects.filter(pk=world.responder.pk).update(is_staff=True)
    client.force_login(world.responder)

    rows = api_client(world.responder).get("/api/v1/contact-methods/").json()
    listing = client.get("/admin/notifications/contactmethod/").content.decode()

    by_address = {row["address"]: row for row in rows["results"]}
    assert by_address["responder@example.com"]["test_confirmed_at"].startswith(
        "2026-10-01T12:00"
    )
    assert by_address[PHONE]["unconfirmed_since"].startswith("2026-10-01T10:00")
    assert by_address[PHONE]["test_confirmed_at"] is None
    assert "unconfirmed since 2026-10-01 10:00 UTC" in listing
    assert "confirmed 2026-10-01 12:00 UTC" in listing
    assert "not tested yet" in listing  # the unverified one


def test_the_admin_action_and_the_command_start_a_round_by_hand(world, client):
    User.objects.filter(pk=world.responder.pk).update(is_staff=True)
    client.force_login(world.responder)
    world.responder.user_permissions.add(
        *Permission.objects.filter(codename="change_contactmethod")
    )

    response = client.post(
        "/admin/notifications/contactmethod/",
        {
            "action": "start_contact_test",
            "_selected_action": [world.sms.pk, world.unverified.pk],
        },
    )
    output = io.StringIO()
    call_command("test_contact_methods", stdout=output)

    assert response.status_code == 302
    by_hand, everyone = ContactTestRound.objects.order_by("id")
    assert list(by_hand.tests.values_list("contact_method", flat=True)) == [
        world.sms.pk
    ]
    assert by_hand.started_by == world.responder
    assert everyone.tests.count() == 4  # the lead's e-mail too
    assert "4 test messages written" in output.getvalue()
    assert contact_test_round_start(key=everyone.key) is None


def test_only_the_recipient_sees_the_confirm_link_and_code_in_the_delivery_log(world):
    start_round(world)
    delivery = Delivery.objects.get(contact_method=world.sms)

    seen = delivery_as_seen_by(delivery=delivery, viewer=world.lead)
    own = delivery_as_seen_by(delivery=delivery, viewer=world.responder)

    assert seen.extra["links"]["confirm"].endswith("/contact-test/[redacted]/")
    assert seen.extra["code"] == "[redacted]"
    assert own.extra == delivery.extra


def test_the_rounds_admin_shows_whom_each_test_was_reported_to_to_superusers_only(
    world, client
):
    started = start_round(world)
    sweep_at(world, START + 72 * H)
    sweep_at(world, START + 144 * H)
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    staff = Client()
    User.objects.filter(pk=world.responder.pk).update(is_staff=True)
    staff.force_login(world.responder)
    url = "/admin/notifications/contacttestround/"

    listing = client.get(url).content.decode()
    detail = client.get(f"{url}{started.pk}/change/").content.decode()

    assert "2026-Q4" in listing
    assert '<td class="field-unconfirmed">4</td>' in listing
    assert "Dana Reyes" in detail
    assert staff.get(url).status_code == 403
