"""The console's pages as the admin serves them: each action goes through
its service, refusals come back in the service's words, and a responder
sees only their own teams."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from incidents.models import Incident
from incidents.services import incident_acknowledge, integration_create
from incidents.services.reviews import review_decide
from incidents.tasks import ingest_process_task
from tests.conftest import staff_client
from tests.factories import ServiceFactory, TeamFactory, declare
from tests.incidents.ingest_helpers import fixture, post_json

pytestmark = pytest.mark.django_db


def war_room(incident: Incident) -> str:
    return f"/admin/incidents/incident/{incident.pk}/war-room/"


def act(client: Client, incident: Incident, **data: str) -> str:
    answer = client.post(f"{war_room(incident)}act/", data, follow=True)
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_war_room_shows_the_header_actions_and_timeline(responder, incident):
    page = staff_client(responder).get(war_room(incident)).content.decode()
    assert incident.public_id in page
    assert "Acknowledge by" in page
    assert "Incident declared" in page
    assert 'value="acknowledge"' in page


def test_each_action_goes_through_its_service(responder, incident):
    client = staff_client(responder)
    page = act(client, incident, verb="acknowledge")
    assert f"Acknowledged {incident.public_id}" in page
    page = act(client, incident, verb="note", note_kind="hypothesis", text="DNS")
    assert "Root cause hypothesis" in page
    page = act(client, incident, verb="role", role="incident_commander", user="me")
    incident.refresh_from_db()
    assert incident.role_assignments.get().user == responder
    page = act(client, incident, verb="acknowledge")
    assert "only a triggered incident can be acknowledged" in page


def test_an_outsider_sees_neither_the_war_room_nor_the_board_rows(responder, incident):
    other = declare(ServiceFactory(team=TeamFactory(), slug="theirs"), title="Theirs")
    client = staff_client(responder)
    assert client.get(war_room(other)).status_code == 404
    board = client.get("/admin/incidents/incident/board/?scope=all").content.decode()
    assert incident.public_id in board
    assert other.public_id not in board
    assert (
        "Theirs"
        not in client.get("/admin/escalation/schedule/oncall/").content.decode()
    )


def test_the_escalation_app_adds_its_panel_and_button_to_the_war_room(
    responder, incident
):
    """The war room is the incident core's page; escalation plugs in the
    paging panel and "Escalate now", whose refusal is the escalation's own."""
    client = staff_client(responder)
    page = client.get(war_room(incident)).content.decode()
    assert "<dt>Escalation</dt>" in page
    assert "⚑" in page  # the mark the incident core registered for "declared"
    page = act(client, incident, verb="escalate")
    assert f"{incident.service} has no escalation policy to climb" in page


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_a_finished_incident_offers_no_severity_assign_or_page_form(
    responder, incident, status
):
    client = staff_client(responder)
    page = client.get(war_room(incident)).content.decode()
    assert 'id="severity-form"' in page
    assert 'id="role-form"' in page
    assert 'id="responder-form"' in page
    Incident.objects.filter(pk=incident.pk).update(status=status)
    page = client.get(war_room(incident)).content.decode()
    assert 'id="severity-form"' not in page
    assert 'id="role-form"' not in page
    assert 'id="responder-form"' not in page
    assert 'data-verb="escalate"' not in page
    assert 'id="status-update-form"' not in page  # reopen to post one
    assert 'id="note-form"' in page  # a note may still be added


def alert_images(service, images: list[dict]) -> Incident:
    """An incident opened by a PagerDuty alert whose payload carries `images`."""
    integration, key = integration_create(name="PD", kind="pagerduty", service=service)
    body = fixture("pagerduty-trigger.json")
    body.update(routing_key=key, images=images)
    assert post_json("/v2/enqueue", body).status_code == 202
    ingest_process_task(integration_id=integration.pk)
    return Incident.objects.get(service=service)


def images_allowed(answer: Any) -> str:
    """The img-src of a response's Content-Security-Policy."""
    policy = answer["Content-Security-Policy"].split(";")
    directives = dict(d.strip().split(" ", 1) for d in policy if d.strip())
    return directives["img-src"]


def test_alert_images_show_as_images_in_the_war_room_only(responder, service):
    incident = alert_images(
        service,
        [
            {
                "src": "https://chart.example/x.png",
                "href": "https://x.example",
                "alt": "cpu",
            },
            {"src": "http://plain.example/y.png", "alt": "disk"},
            {"src": "javascript:alert(1)", "alt": "evil"},
        ],
    )
    client = staff_client(responder)
    answer = client.get(war_room(incident))
    page = answer.content.decode()
    assert (
        '<a href="https://x.example" rel="noopener noreferrer">'
        '<img src="https://chart.example/x.png" alt="cpu" '
        'referrerpolicy="no-referrer" loading="lazy"></a>'
    ) in page
    assert (
        '<a href="http://plain.example/y.png" rel="noopener noreferrer">disk</a>'
        in page
    )
    assert "javascript:" not in page
    assert images_allowed(answer) == "'self' data: https:"
    for elsewhere in (
        f"/admin/incidents/incident/{incident.pk}/change/",
        "/admin/incidents/incident/board/",
        "/admin/",
    ):
        assert images_allowed(client.get(elsewhere)) == "'self' data:", elsewhere


def test_a_status_update_is_posted_from_the_war_room(responder, incident):
    client = staff_client(responder)
    assert 'id="status-update-form"' in client.get(war_room(incident)).content.decode()
    posted = incident.status_updates.count()  # the declaration's own
    page = act(client, incident, verb="status_update", text=" ", audience="internal")
    assert "A status update needs text" in page
    assert incident.status_updates.count() == posted
    page = act(
        client,
        incident,
        verb="status_update",
        text="Failing over to the replica",
        impact="Checkout is slow",
        next_steps="Watch the replica",
        audience="internal",
    )
    assert "Posted the status update to the internal audience" in page
    assert incident.status_updates.count() == posted + 1
    update = incident.status_updates.latest("id")
    assert (update.text, update.impact, update.next_steps) == (
        "Failing over to the replica",
        "Checkout is slow",
        "Watch the replica",
    )
    incident.refresh_from_db()
    assert incident.next_update_due_at == update.next_update_due_at
    due = incident.next_update_due_at.isoformat()
    assert f'<dt>Next update due</dt><dd><time datetime="{due}"' in page


def test_the_header_turns_the_next_update_red_once_it_is_overdue(responder, incident):
    client = staff_client(responder)
    due = incident.next_update_due_at
    assert due is not None
    overdue = '<div class="clock clock-breached"><dt>Next update due</dt>'
    with time_machine.travel(due - timedelta(minutes=1)):
        page = client.get(war_room(incident)).content.decode()
    assert '<div class="clock clock-running"><dt>Next update due</dt>' in page
    with time_machine.travel(due + timedelta(minutes=1)):
        page = client.get(war_room(incident)).content.decode()
    assert overdue in page


def test_the_header_links_the_post_incident_review_once_there_is_one(
    responder, incident
):
    client = staff_client(responder)
    assert 'id="review-link"' not in client.get(war_room(incident)).content.decode()
    review = review_decide(incident=incident, by=responder, via="admin")
    assert review is not None
    page = client.get(war_room(incident)).content.decode()
    link = f'href="/admin/incidents/postincidentreview/{review.pk}/change/"'
    assert f'{link} id="review-link"' in page


def test_the_live_view_sends_the_actions_once_the_status_moved(responder, incident):
    """The page says the status it shows; after another responder's change
    the live view sends the actions the new status allows, else none."""
    client = staff_client(responder)
    live = f"{war_room(incident)}live/"
    assert client.get(live, {"status": "triggered"}).json()["actions"] is None
    incident_acknowledge(incident=incident, by=responder, via="api")
    data = client.get(live, {"status": "triggered"}).json()
    assert data["status"] == "acknowledged"
    assert 'data-verb="acknowledge"' not in data["actions"]
    assert 'data-to="triggered"' in data["actions"]  # un-acknowledge
    assert client.get(live, {"status": "acknowledged"}).json()["actions"] is None
