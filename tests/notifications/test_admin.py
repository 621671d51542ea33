"""The notifications admin: changes go through the services, scoped per user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from incidents.models import Team
from notifications.models import (
    Channel,
    ContactMethod,
    Delivery,
    MessageTemplate,
    NotificationRule,
)
from notifications.services import channel_create, contact_method_create
from tests.factories import declare

ADMIN = "/admin/notifications/"
HOOK = "https://hooks.example.com/services/T000/B000/s3cr3t-token"
PHONE = "+14155550100"


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def browser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def staff_responder(responder) -> Client:
    """The responder as staff in the "Responders" group (a data migration)."""
    User.objects.filter(pk=responder.pk).update(is_staff=True)
    responder.groups.add(Group.objects.get(name="Responders"))
    client = Client()
    client.force_login(responder)
    return client


def page(response) -> str:
    return response.content.decode()


def method_form(user: User, **fields: object) -> dict[str, object]:
    return {
        "user": user.pk,
        "kind": "sms",
        "label": "",
        "address": PHONE,
        "rate_limit_count": "",
        "rate_limit_window": "",
        **fields,
    }


def template_form(source: str, **fields: object) -> dict[str, object]:
    return {
        "kind": "initial",
        "format": "chat",
        "source": source,
        "enabled": "on",
        **fields,
    }


def run_action(client: Client, model: str, action: str, pks: list[int]) -> str:
    response = client.post(
        f"{ADMIN}{model}/",
        {"action": action, "_selected_action": pks},
        follow=True,
    )
    assert response.status_code == 200
    return page(response)


# --- Changelists ---------------------------------------------------------------


def test_every_changelist_renders_with_rows(browser, service, responder):
    method = contact_method_create(user=responder, kind="webhook", address=HOOK)
    NotificationRule.objects.create(
        user=responder, urgency="high", contact_method=method
    )
    channel_create(name="#ops-room", kind="slack", address=HOOK, team=service.team)
    MessageTemplate.objects.create(
        kind="initial", format="chat", source="{{ incident.id }}"
    )
    declare(service, "P1", by=responder)

    expected = {
        "contactmethod": "https://hooks.example.com/…",
        "notificationrule": "High (P0, P1)",
        "channel": "#ops-room",
        "messagetemplate": "Initial notification",
        "delivery": "Channel broadcast",
    }
    for model, text in expected.items():
        response = browser.get(f"{ADMIN}{model}/")
        assert response.status_code == 200, model
        assert text in page(response), model
        assert "s3cr3t" not in page(response), model


# --- Contact methods -----------------------------------------------------------------


def test_an_invalid_address_shows_the_error_and_stores_nothing(browser, responder):
    response = browser.post(
        f"{ADMIN}contactmethod/add/", method_form(responder, address="555-0100")
    )

    assert response.status_code == 200
    assert "is not an international number" in page(response)
    assert response.context["adminform"].form.errors["address"]
    assert not ContactMethod.objects.exists()
    assert not Delivery.objects.exists()


def test_a_valid_address_is_stored_and_gets_a_verification_code(browser, responder):
    response = browser.post(
        f"{ADMIN}contactmethod/add/",
        method_form(responder, kind="email", address="ann@example.com", label="Work"),
        follow=True,
    )

    assert response.status_code == 200
    method = ContactMethod.objects.get()
    assert (method.user, method.kind, method.label) == (responder, "email", "Work")
    assert method.verified_at is None
    delivery = Delivery.objects.get()
    assert (delivery.purpose, delivery.contact_method) == ("verification", method)
    assert len(delivery.extra["code"]) == 6


def test_the_admin_stores_the_address_as_the_service_normalised_it(browser, responder):
    browser.post(
        f"{ADMIN}contactmethod/add/",
        method_form(responder, address="+1 (415) 555-0100"),
    )

    method = ContactMethod.objects.get()
    assert method.address == PHONE
    assert Delivery.objects.get().destination == method.address


def test_a_duplicate_contact_method_is_refused_in_the_admin(browser, responder):
    contact_method_create(user=responder, kind="sms", address=PHONE)
    response = browser.post(f"{ADMIN}contactmethod/add/", method_form(responder))
    assert response.status_code == 200
    assert "already has this sms contact method" in page(response)
    assert ContactMethod.objects.count() == 1


def test_a_webhook_secret_is_shown_read_only_on_its_page(browser, responder):
    method = contact_method_create(user=responder, kind="webhook", address=HOOK)
    text = page(browser.get(f"{ADMIN}contactmethod/{method.pk}/change/"))
    assert method.secret in text
    assert 'name="secret"' not in text
    assert 'name="address"' not in text


# --- Message templates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ incident.title ", "source"),
        ("{% for x in incident %}", "source"),
        ("{{ incident.no_such_field }}", "source"),
        ("{{ nope }}", "source"),
    ],
)
def test_a_broken_template_is_refused_by_the_form(browser, db, source, problem):
    response = browser.post(f"{ADMIN}messagetemplate/add/", template_form(source))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[problem]
    assert not MessageTemplate.objects.exists()


def test_a_valid_template_is_saved(browser, db):
    source = "**{{ incident.severity }}** {{ incident.title }} ({{ incident.status }})"
    response = browser.post(
        f"{ADMIN}messagetemplate/add/", template_form(source), follow=True
    )

    assert response.status_code == 200
    template = MessageTemplate.objects.get()
    assert (template.kind, template.format, template.source) == (
        "initial",
        "chat",
        source,
    )


def test_a_saved_template_shows_its_preview_with_sample_data_and_the_variables(
    browser, db
):
    source = (
        "{{ incident.severity }} {{ incident.title }} led by {{ incident.commander }}"
    )
    browser.post(f"{ADMIN}messagetemplate/add/", template_form(source))
    template = MessageTemplate.objects.get()
    html = page(browser.get(f"{ADMIN}messagetemplate/{template.pk}/change/"))
    assert "P0 Site down led by Dana Reyes" in html
    assert "incident.war_room" in html
    assert "links.acknowledge" in html


def test_an_sms_page_template_without_its_ack_code_is_refused(browser, db):
    response = browser.post(
        f"{ADMIN}messagetemplate/add/",
        template_form("{{ incident.title }}", kind="page", format="short"),
    )
    assert response.status_code == 200
    assert "must carry its ACK code" in page(response)
    assert not MessageTemplate.objects.exists()


def test_the_add_form_starts_from_the_built_in_template(browser, db):
    form = browser.get(f"{ADMIN}messagetemplate/add/").context["adminform"].form
    assert "incident" in form.initial["source"]


# --- The delivery log -----------------------------------------------------------------


@pytest.fixture
def broadcast(service, responder) -> Delivery:
    channel_create(name="#ops-room", kind="slack", address=HOOK, team=service.team)
    incident = declare(service, "P1", by=responder)
    return Delivery.objects.get(incident=incident)


def test_the_retry_action_requeues_a_failed_delivery(browser, broadcast):
    Delivery.objects.filter(pk=broadcast.pk).update(
        status="failed", attempts=5, error="HTTP 500", finished_at=timezone.now()
    )

    text = run_action(browser, "delivery", "retry", [broadcast.pk])

    assert "Queued again" in text
    broadcast.refresh_from_db()
    assert (broadcast.status, broadcast.attempts, broadcast.error) == ("pending", 0, "")


def test_the_retry_action_leaves_a_sent_delivery_alone(browser, broadcast):
    Delivery.objects.filter(pk=broadcast.pk).update(status="sent")

    text = run_action(browser, "delivery", "retry", [broadcast.pk])

    assert "only a failed or cancelled delivery can be retried" in text
    broadcast.refresh_from_db()
    assert broadcast.status == "sent"


def test_the_incident_page_shows_its_deliveries(browser, broadcast):
    url = f"/admin/incidents/incident/{broadcast.incident_id}/change/"
    text = page(browser.get(url))
    assert "Deliveries (pages and channel messages)" in text
    assert "Channel broadcast" in text


# --- Scoping for responders ---------------------------------------------------------


def test_a_responder_sees_only_their_own_contact_methods(
    staff_responder, responder, outsider
):
    mine = contact_method_create(user=responder, kind="sms", address=PHONE)
    theirs = contact_method_create(user=outsider, kind="sms", address="+14155550199")

    text = page(staff_responder.get(f"{ADMIN}contactmethod/"))

    assert "+14155550100" in text
    assert "+14155550199" not in text
    assert (
        staff_responder.get(f"{ADMIN}contactmethod/{mine.pk}/change/").status_code
        == 200
    )
    other = staff_responder.get(
        f"{ADMIN}contactmethod/{theirs.pk}/change/", follow=True
    )
    assert "+14155550199" not in page(other)


def test_a_responder_cannot_add_a_contact_method_for_someone_else(
    staff_responder, outsider
):
    staff_responder.post(
        f"{ADMIN}contactmethod/add/", method_form(outsider, address="+14155550199")
    )

    assert not ContactMethod.objects.filter(user=outsider).exists()
    assert not Delivery.objects.filter(destination="+14155550199").exists()


def test_a_responder_cannot_add_a_rule_for_someone_else(staff_responder, outsider):
    theirs = contact_method_create(user=outsider, kind="sms", address=PHONE)
    ContactMethod.objects.filter(pk=theirs.pk).update(verified_at=timezone.now())

    staff_responder.post(f"{ADMIN}notificationrule/add/", rule_form(outsider, theirs))

    assert not NotificationRule.objects.exists()


def test_a_responder_cannot_add_a_channel_to_another_team(staff_responder, outsider):
    bots = Team.objects.get(slug="bots")
    data = {
        "name": "#hijack", "kind": "webhook", "address": HOOK, "team": bots.pk,
        "on_initial": "on", "on_update": "on", "on_resolution": "on", "enabled": "on",
    }  # fmt: skip

    staff_responder.post(f"{ADMIN}channel/add/", data)

    assert not Channel.objects.filter(team=bots).exists()


def test_a_responder_can_add_a_channel_to_their_own_team(staff_responder, team):
    data = {
        "name": "#ops-room", "kind": "slack", "address": HOOK, "team": team.pk,
        "on_initial": "on", "on_update": "on", "on_resolution": "on", "enabled": "on",
    }  # fmt: skip

    response = staff_responder.post(f"{ADMIN}channel/add/", data, follow=True)

    assert response.status_code == 200
    channel = Channel.objects.get()
    assert (channel.team, channel.address, channel.enabled) == (team, HOOK, True)


def rule_form(user: User, method: ContactMethod, **fields: object) -> dict:
    return {
        "user": user.pk,
        "urgency": "high",
        "contact_method": method.pk,
        "delay": "00:00:00",
        **fields,
    }


def test_a_duplicate_rule_is_refused_by_the_form(browser, responder):
    method = contact_method_create(user=responder, kind="sms", address=PHONE)
    NotificationRule.objects.create(
        user=responder, urgency="high", contact_method=method
    )

    response = browser.post(
        f"{ADMIN}notificationrule/add/", rule_form(responder, method)
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert NotificationRule.objects.count() == 1


def test_a_rule_on_another_users_method_is_refused_without_an_error_page(
    browser, responder, outsider
):
    theirs = contact_method_create(user=outsider, kind="sms", address=PHONE)

    response = browser.post(
        f"{ADMIN}notificationrule/add/", rule_form(responder, theirs), follow=True
    )

    assert response.status_code == 200
    assert "one of the user&#x27;s own contact methods" in page(response)
    assert "was added successfully" not in page(response)
    assert not NotificationRule.objects.exists()


def test_giving_a_team_channel_a_service_too_shows_an_error(browser, service):
    channel = channel_create(
        name="#ops-room", kind="slack", address=HOOK, team=service.team
    )
    data = {
        "name": "#ops-room", "kind": "slack", "address": HOOK,
        "team": service.team.pk, "service": service.pk,
        "on_initial": "on", "on_update": "on", "on_resolution": "on", "enabled": "on",
    }  # fmt: skip

    response = browser.post(f"{ADMIN}channel/{channel.pk}/change/", data)

    assert response.status_code == 200
    channel.refresh_from_db()
    assert (channel.team, channel.service) == (service.team, None)


def test_the_code_sent_is_entered_on_the_method_page_and_verifies_it(
    browser, responder
):
    browser.post(f"{ADMIN}contactmethod/add/", method_form(responder))
    method = ContactMethod.objects.get()
    change = f"{ADMIN}contactmethod/{method.pk}/change/"
    form = {"label": "", "rate_limit_count": "", "rate_limit_window": ""}
    sent = Delivery.objects.get().extra["code"]

    wrong = browser.post(change, {**form, "verification_code": "000000"[: len(sent)]})
    assert wrong.status_code == 200
    assert wrong.context["adminform"].form.errors["verification_code"]
    assert ContactMethod.objects.get().verification_failures == 1

    browser.post(change, {**form, "verification_code": sent})
    assert ContactMethod.objects.get().verified_at is not None
    assert "verification_code" not in page(browser.get(change))
