"""The admin: runbooks and contacts, and the checklist on the incident page."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from incidents.models import (
    ExternalContact,
    Incident,
    IncidentRunbookStep,
    Runbook,
)
from incidents.timeline_kinds import (
    RUNBOOK_STEP_DONE,
    RUNBOOK_STEP_NOTE,
    RUNBOOK_STEP_SKIPPED,
)
from tests.factories import MembershipFactory, declare


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(responder: User) -> Client:
    """A responder with staff status and the Responders group."""
    responder.is_staff = True
    responder.save()
    responder.groups.add(Group.objects.get(name="Responders"))
    return signed_in(responder)


@pytest.fixture
def incident(service) -> Incident:
    return declare(service, "P1", category=Incident.Category.BOT_OFFLINE)


def change_page(incident: Incident) -> str:
    return f"/admin/incidents/incident/{incident.pk}/change/"


def step_url(step: IncidentRunbookStep) -> str:
    return f"/admin/incidents/incident/{step.incident_id}/runbook-steps/{step.pk}/"


def first(incident: Incident) -> IncidentRunbookStep:
    return incident.runbook_steps.get(position=1)


def test_the_incident_page_shows_its_checklist_with_buttons(staff, incident):
    page = staff.get(change_page(incident)).content.decode()

    checklist = page[
        page.index('id="runbook-steps"') : page.index('id="incident_form"')
    ]
    assert "0 of 5 steps done or skipped" in checklist
    assert "Check the bot&#x27;s service status." in checklist
    assert "systemctl status &lt;bot service&gt;" in checklist
    step = first(incident)
    assert f'action="{step_url(step)}"' in checklist
    assert 'value="tick">Done</button>' in checklist
    assert "csrfmiddlewaretoken" in checklist


def test_ticking_in_the_admin_goes_through_the_service(staff, incident):
    step = first(incident)
    answer = staff.post(step_url(step), {"verb": "tick"})

    assert answer.status_code == 302
    assert answer["Location"] == f"{change_page(incident)}#runbook-step-{step.pk}"
    step.refresh_from_db()
    assert step.state == "done"
    event = incident.timeline.get(kind=RUNBOOK_STEP_DONE)
    assert (event.via, event.actor.username) == ("admin", "responder")
    page = staff.get(change_page(incident)).content.decode()
    assert "☑ done by responder" in page
    assert 'value="untick">Reopen</button>' in page
    assert "1 of 5 steps done or skipped" in page


def test_skip_and_note_take_the_steps_text(staff, incident):
    step = first(incident)
    staff.post(step_url(step), {"verb": "note", "text": "Service was masked"})
    staff.post(step_url(step), {"verb": "skip", "text": "Restarted by the host"})

    step.refresh_from_db()
    assert (step.note, step.state) == ("Service was masked", "skipped")
    assert step.skip_reason == "Restarted by the host"
    kinds = incident.timeline.filter(kind__startswith="runbook_step").order_by("id")
    assert list(kinds.values_list("kind", flat=True)) == [
        RUNBOOK_STEP_NOTE,
        RUNBOOK_STEP_SKIPPED,
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"verb": "skip"}, "Skipping a step needs a reason"),
        ({"verb": "explode"}, "Say what to do with the step"),
        ({}, "Say what to do with the step"),
    ],
)
def test_a_refusal_is_shown_not_raised(staff, incident, body, message):
    step = first(incident)
    answer = staff.post(step_url(step), body, follow=True)

    assert answer.status_code == 200
    assert message in answer.content.decode()
    step.refresh_from_db()
    assert step.state == "open"


def test_another_teams_incident_and_unknown_steps_are_not_found(
    staff, incident, outsider
):
    step = first(incident)
    outsider.is_staff = True
    outsider.save()
    outsider.groups.add(Group.objects.get(name="Responders"))
    tick = {"verb": "tick"}
    assert signed_in(outsider).post(step_url(step), tick).status_code == 404
    other = declare(step.incident.service, "P1", category="bot_offline")
    wrong = f"/admin/incidents/incident/{other.pk}/runbook-steps/{step.pk}/"
    assert staff.post(wrong, tick).status_code == 404
    assert staff.get(step_url(step)).status_code == 405
    step.refresh_from_db()
    assert step.state == "open"


def test_viewing_without_change_rights_shows_no_buttons_and_cannot_tick(incident, team):
    viewer = MembershipFactory(team=team, user__username="viewer").user
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(
        *Group.objects.get(name="Responders").permissions.filter(
            codename="view_incident"
        )
    )
    step = first(incident)
    page = signed_in(viewer).get(change_page(incident)).content.decode()
    assert "Check the bot&#x27;s service status." in page
    assert 'value="tick"' not in page
    assert signed_in(viewer).post(step_url(step), {"verb": "tick"}).status_code == 403
    step.refresh_from_db()
    assert step.state == "open"


def test_a_runbook_is_written_with_its_steps_in_the_admin(staff, team):
    contact = ExternalContact.objects.create(team=team, name="Hostco")
    answer = staff.post(
        "/admin/incidents/runbook/add/",
        {
            "name": "Checkout down",
            "description": "",
            "team": team.pk,
            "category": "site_down",
            "severity_at_least": "P1",
            "enabled": "on",
            "steps-TOTAL_FORMS": "2",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "2",
            "steps-0-text": "Then call the host",
            "steps-0-external_contact": contact.pk,
            "steps-0-required": "on",
            "steps-1-position": "1",
            "steps-1-text": "First look at the dashboard",
            "steps-1-phase": "investigate",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    runbook = Runbook.objects.get(name="Checkout down")
    steps = runbook.steps.order_by("position")
    assert list(steps.values_list("position", "text", "required")) == [
        (1, "First look at the dashboard", False),
        (2, "Then call the host", True),
    ]
    assert steps[1].external_contact == contact


def test_the_admin_refuses_a_runbook_that_does_not_fit(staff, team):
    answer = staff.post(
        "/admin/incidents/runbook/add/",
        {
            "name": "Empty range",
            "team": team.pk,
            "severity_at_least": "P1",
            "severity_at_most": "P2",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-position": "1",
            "steps-0-text": "x",
        },
    )
    assert answer.status_code == 200
    assert "no severity is both P1 or more severe" in answer.content.decode()
    assert not Runbook.objects.filter(name="Empty range").exists()


def test_shared_runbooks_are_read_only_for_responders(staff):
    shared = Runbook.objects.get(name="Security incident")
    page = staff.get(f"/admin/incidents/runbook/{shared.pk}/change/").content.decode()
    assert "Contain" in page
    assert not re.search(r'<input type="submit" value="Save"', page)
    answer = staff.post(f"/admin/incidents/runbook/{shared.pk}/change/", {"name": "x"})
    assert answer.status_code == 403
    assert Runbook.objects.filter(name="Security incident").exists()


def test_external_contacts_in_the_admin_are_the_teams_own(staff, team, outsider):
    answer = staff.post(
        "/admin/incidents/externalcontact/add/",
        {
            "team": team.pk,
            "name": "Hostco",
            "kind": "hosting_provider",
            "hours": "24/7",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    theirs = ExternalContact.objects.create(team=outsider.teams.get(), name="Theirs")
    listing = staff.get("/admin/incidents/externalcontact/").content.decode()
    assert "Hostco" in listing
    assert "Theirs" not in listing
    assert (
        staff.get(f"/admin/incidents/externalcontact/{theirs.pk}/change/").status_code
        == 302
    )


def test_shared_runbooks_cannot_be_deleted_in_bulk(staff):
    shared = Runbook.objects.get(name="Security incident")
    staff.post(
        "/admin/incidents/runbook/",
        {"action": "delete_selected", "_selected_action": [shared.pk], "post": "yes"},
    )
    assert Runbook.objects.filter(pk=shared.pk).exists()
    answer = staff.post(
        f"/admin/incidents/runbook/{shared.pk}/delete/", {"post": "yes"}
    )
    assert answer.status_code == 403
    assert Runbook.objects.filter(pk=shared.pk).exists()
