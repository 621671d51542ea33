"""The console's pages as the admin serves them: each action goes through
its service, refusals come back in the service's words, and a responder
sees only their own teams."""

from __future__ import annotations

import pytest
from django.test import Client

from incidents.models import Incident
from tests.conftest import staff_client
from tests.factories import ServiceFactory, TeamFactory, declare

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
    assert 'id="note-form"' in page  # a note may still be added
