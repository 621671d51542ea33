"""The response protocol's "During Incident" checklist, proved by the timeline
where the timeline can prove it, ticked by hand where it cannot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client

from incidents.checklist import ITEM_KEYS, PROVERS
from incidents.models import ChecklistTick, Incident, TimelineEvent
from incidents.services import (
    incident_acknowledge,
    incident_assign_role,
    incident_transition,
)
from incidents.services.checklists import verification_item_untick
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CHECKLIST_TICKED,
    CHECKLIST_UNTICKED,
    CREATED,
    ROLE_ASSIGNED,
    STATUS_CHANGED,
    VERIFICATION_TICKED,
    VERIFICATION_UNTICKED,
)
from notifications.models import Channel, Kind
from notifications.services import delivery_send
from notifications.timeline_kinds import NOTIFICATION_SENT
from tests.conftest import api_client
from tests.factories import declare, verify
from tests.notifications.servers import Answer, HTTPReceiver
from tests.openapi import assert_described

S = Incident.Status


def checklist(api, incident: Incident) -> dict[str, dict]:
    response = api.get(f"/api/v1/incidents/{incident.public_id}/checklist/")
    assert response.status_code == 200
    return {item["key"]: item for item in response.json()}


def event_of(incident: Incident, kind: str) -> TimelineEvent:
    return incident.timeline.filter(kind=kind).order_by("id").first()


def tick_url(incident: Incident, item: str, verb: str = "tick") -> str:
    return f"/api/v1/incidents/{incident.public_id}/checklist/{item}/{verb}/"


def test_every_item_of_the_protocol_is_listed_in_its_order(api, incident):
    assert list(checklist(api, incident)) == list(ITEM_KEYS)
    assert [item["label"] for item in checklist(api, incident).values()][:4] == [
        "Incident detected and acknowledged",
        "Severity assessed",
        "Incident ticket created",
        "IC assigned",
    ]


def test_declaring_proves_the_ticket_the_timeline_and_the_severity(api, incident):
    declared = event_of(incident, CREATED)

    items = checklist(api, incident)

    for key in ("ticket_created", "timeline_started", "severity_assessed"):
        assert items[key]["done"] is True
        assert (items[key]["proof"], items[key]["event"]) == ("timeline", declared.pk)
        assert items[key]["by"] == "responder"
    assert items["acknowledged"]["done"] is False
    assert items["acknowledged"]["proof"] == ""


def test_working_the_incident_ticks_items_linked_to_the_events(
    api, incident, responder
):
    incident_acknowledge(incident=incident, by=responder)
    incident_assign_role(
        incident=incident, role="incident_commander", user=responder, by=responder
    )
    incident_transition(incident=incident, to=S.INVESTIGATING, by=responder)
    incident_transition(incident=incident, to=S.MONITORING, by=responder)

    items = checklist(api, incident)

    assert items["acknowledged"]["event"] == event_of(incident, ACKNOWLEDGED).pk
    assert items["ic_assigned"]["event"] == event_of(incident, ROLE_ASSIGNED).pk
    changes = list(incident.timeline.filter(kind=STATUS_CHANGED).order_by("id"))
    assert items["investigation_begun"]["event"] == changes[0].pk
    assert items["resolution_implemented"]["event"] == changes[1].pk
    assert items["incident_closed"]["done"] is False


def test_another_role_does_not_count_as_an_incident_commander(api, incident, responder):
    incident_assign_role(incident=incident, role="scribe", user=responder, by=None)
    assert checklist(api, incident)["ic_assigned"]["done"] is False


@pytest.fixture
def hook(settings) -> Iterator[HTTPReceiver]:
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["127.0.0.1/32"]
    receiver = HTTPReceiver("127.0.0.1").start()
    receiver.answer("/channel", Answer(200, "ok"))
    yield receiver
    receiver.stop()


def send_all(incident: Incident) -> None:
    for delivery in incident.deliveries.filter(status="pending"):
        delivery_send(delivery_id=delivery.pk)


def test_sent_notifications_prove_the_initial_and_resolution_items(
    api, service, responder, hook
):
    Channel.objects.create(
        name="#ops",
        kind=Kind.WEBHOOK,
        address=hook.url("/channel"),
        secret="k",
        service=service,
    )
    incident = declare(service, "P1", by=responder)
    before = checklist(api, incident)
    send_all(incident)
    verify(incident)
    incident_transition(incident=incident, to=S.RESOLVED, by=responder)
    send_all(incident)

    items = checklist(api, incident)

    assert before["initial_notification"]["done"] is False
    sent = list(incident.timeline.filter(kind=NOTIFICATION_SENT).order_by("id"))
    assert [e.data["message_kind"] for e in sent] == ["initial", "resolution"]
    assert items["initial_notification"]["event"] == sent[0].pk
    assert items["war_room"]["event"] == sent[0].pk
    assert items["resolution_notification"]["event"] == sent[1].pk


@pytest.mark.parametrize(
    ("code", "applies"), [("P0", True), ("P1", True), ("P2", False), ("P3", False)]
)
def test_a_war_room_is_asked_of_p0_and_p1_only(api, service, code, applies):
    incident = declare(service, code)
    assert checklist(api, incident)["war_room"]["applies"] is applies


def test_verification_complete_follows_the_verification_items(api, incident, responder):
    verify(incident)
    last_tick = incident.timeline.filter(kind=VERIFICATION_TICKED).last()
    done = checklist(api, incident)["verification_complete"]
    item = incident.verification_items.first()
    verification_item_untick(incident=incident, item_id=item.pk, by=responder)

    assert (done["done"], done["event"]) == (True, last_tick.pk)
    assert checklist(api, incident)["verification_complete"]["done"] is False


def test_closing_proves_the_last_item(api, incident, responder):
    verify(incident)
    incident_transition(incident=incident, to=S.RESOLVED, by=responder)
    incident_transition(incident=incident, to=S.CLOSED, by=responder)
    closed = incident.timeline.filter(kind=STATUS_CHANGED).last()
    assert checklist(api, incident)["incident_closed"]["event"] == closed.pk


# --- By hand --------------------------------------------------------------------------


def test_status_updates_are_ticked_by_hand_with_who_and_when(api, incident, responder):
    assert checklist(api, incident)["status_updates"]["hand_tickable"] is True

    ticked = api.post(tick_url(incident, "status_updates"))

    assert ticked.status_code == 200
    item = {i["key"]: i for i in ticked.json()}["status_updates"]
    assert (item["done"], item["proof"], item["by"]) == (True, "hand", "responder")
    tick = ChecklistTick.objects.get(incident=incident)
    assert (tick.item, tick.ticked_by) == ("status_updates", responder)
    event = event_of(incident, CHECKLIST_TICKED)
    assert (event.data, event.actor) == ({"item": "status_updates"}, responder)


def test_a_hand_tick_is_taken_back_on_the_timeline(api, incident):
    api.post(tick_url(incident, "status_updates"))
    api.post(tick_url(incident, "status_updates"))  # twice: still one tick

    response = api.post(tick_url(incident, "status_updates", "untick"))

    assert response.status_code == 200
    assert not ChecklistTick.objects.exists()
    assert incident.timeline.filter(kind=CHECKLIST_TICKED).count() == 1
    assert incident.timeline.filter(kind=CHECKLIST_UNTICKED).count() == 1


def test_an_item_the_timeline_proves_is_not_ticked_by_hand(api, incident):
    response = api.post(tick_url(incident, "ic_assigned"))

    assert response.status_code == 409
    assert response.json()["code"] == "checklist_state"
    assert checklist(api, incident)["ic_assigned"]["done"] is False


def test_a_closed_incidents_checklist_no_longer_changes(api, incident, responder):
    incident_transition(incident=incident, to=S.CANCELLED, by=responder, reason="test")
    assert api.post(tick_url(incident, "status_updates")).status_code == 409
    assert not ChecklistTick.objects.exists()


def test_a_later_feature_proves_an_item_by_registering_one_function(
    api, incident, monkeypatch
):
    monkeypatch.setitem(
        PROVERS,
        "status_updates",
        lambda incident, events: next((e for e in events if e.kind == CREATED), None),
    )
    item = checklist(api, incident)["status_updates"]
    assert (item["done"], item["proof"], item["hand_tickable"]) == (
        True,
        "timeline",
        False,
    )


@pytest.mark.parametrize("item", ["nope", "status_update", "x" * 32])
def test_an_unknown_item_is_400(api, incident, item):
    response = api.post(tick_url(incident, item))
    assert response.status_code == 400
    assert response.json()["field"] == "item"


@pytest.mark.parametrize("item", ["Status", "a" * 33, "%00", "1;drop"])
def test_no_item_key_produces_a_500(api, incident, item):
    assert api.post(tick_url(incident, item)).status_code == 404


@pytest.mark.parametrize(
    ("method", "tail"),
    [("get", "checklist/"), ("post", "checklist/status_updates/tick/"),
     ("post", "checklist/status_updates/untick/")],
)  # fmt: skip
def test_another_teams_incident_is_404(outsider, incident, method, tail):
    client = api_client(outsider)
    response = getattr(client, method)(f"/api/v1/incidents/{incident.public_id}/{tail}")
    assert response.status_code == 404
    assert not ChecklistTick.objects.exists()


# --- Admin ----------------------------------------------------------------------------


@pytest.fixture
def browser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_page_shows_both_checklists_with_buttons(browser, incident):
    page = browser.get(f"/admin/incidents/incident/{incident.pk}/change/")
    text = page.content.decode()

    assert "Verification before resolve" in text
    assert "required to resolve" in text
    assert "Functionality restored" in text
    assert "Response checklist" in text
    assert "Incident ticket created — timeline event" in text
    assert f"/admin/incidents/incident/{incident.pk}/aids/checklist-tick/" in text


def test_the_admin_buttons_tick_through_the_services(browser, incident, admin_user):
    verify(incident)
    item = incident.verification_items.order_by("position").first()
    base = f"/admin/incidents/incident/{incident.pk}/aids/"

    browser.post(f"{base}checklist-tick/status_updates/")
    browser.post(f"{base}verification-untick/{item.pk}/")
    refused = browser.post(f"{base}checklist-tick/ic_assigned/", follow=True)

    assert ChecklistTick.objects.get().ticked_by == admin_user
    item.refresh_from_db()
    assert item.checked_at is None
    assert event_of(incident, VERIFICATION_UNTICKED).via == "admin"
    assert "not by hand" in refused.content.decode()
    assert browser.get(f"{base}checklist-tick/status_updates/").status_code == 405


def test_the_answers_match_the_schema(api, incident, responder):
    incident_acknowledge(incident=incident, by=responder)
    api.post(tick_url(incident, "status_updates"))
    base = f"/api/v1/incidents/{incident.public_id}/"
    for method, tail, path in [
        ("get", "checklist/", "checklist/"),
        ("post", "checklist/status_updates/untick/", "checklist/{item}/untick/"),
        ("get", "verification/", "verification/"),
    ]:
        answer = getattr(api, method)(base + tail)
        assert answer.status_code == 200
        path = f"/api/v1/incidents/{{public_id}}/{path}"
        assert_described(path, method, 200, answer.json())
