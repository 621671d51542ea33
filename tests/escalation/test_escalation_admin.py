"""The escalation admin: policies through the services, preview, manual controls."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.test import Client

from escalation.models import Escalation, EscalationPolicy, EscalationStep
from incidents.models import Incident, TeamMembership
from incidents.services import incident_transition
from notifications.models import Delivery
from tests.factories import declare, verify

POLICIES = "/admin/escalation/escalationpolicy/"
ESCALATIONS = "/admin/escalation/escalation/"
Role = TeamMembership.Role


@pytest.fixture
def browser(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def page(response) -> str:
    return response.content.decode()


def told(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def level_rows(*levels: dict[str, object], initial: int = 0) -> dict[str, object]:
    """Return the inline formset's fields for `levels`."""
    data: dict[str, object] = {
        "levels-TOTAL_FORMS": len(levels),
        "levels-INITIAL_FORMS": initial,
        "levels-MIN_NUM_FORMS": 0,
        "levels-MAX_NUM_FORMS": 1000,
    }
    for index, level in enumerate(levels):
        row = {
            "id": "",
            "position": index + 1,
            "name": "",
            "delay": "",
            "up_to_severity": "",
            "page_at_declaration_up_to": "",
            "users": [],
            "teams": [],
            "schedules": [],
            **level,
        }
        data |= {f"levels-{index}-{key}": value for key, value in row.items()}
    return data


def policy_form(team, *levels: dict[str, object], **fields: object) -> dict:
    return {
        "name": "SOP",
        "team": team.pk,
        "description": "",
        "repeat": 0,
        **level_rows(*levels),
        **fields,
    }


def test_adding_a_policy_writes_levels_and_targets_through_the_service(
    browser, team, responder, team_lead
):
    form = policy_form(
        team,
        {"name": "On-call engineer", "users": [responder.pk]},
        {
            "name": "Team lead",
            "teams": ["platform:lead"],
            "page_at_declaration_up_to": "P1",
        },
        {"name": "Everyone", "teams": ["platform"], "delay": "00:05:00"},
    )

    response = browser.post(f"{POLICIES}add/", form)

    assert response.status_code == 302, page(response)
    policy = EscalationPolicy.objects.get()
    assert policy.team == team
    levels = list(policy.levels.order_by("position"))
    assert [lv.label for lv in levels] == [
        "L1 (On-call engineer)",
        "L2 (Team lead)",
        "L3 (Everyone)",
    ]
    assert [str(t) for lv in levels for t in lv.targets.all()] == [
        "user responder",
        "team Platform (Team leads)",
        "team Platform",
    ]
    assert levels[1].page_at_declaration_up_to_id == "P1"
    assert levels[2].delay.total_seconds() == 300


@pytest.mark.parametrize(
    ("level", "message"),
    [
        ({"name": "Empty"}, "levels[0].targets: a level needs at least one target"),
        ({"delay": "8 00:00:00", "teams": ["platform"]}, "between 0 and 7 days"),
    ],
)
def test_a_level_the_service_refuses_is_shown_on_the_form(
    browser, team, level, message
):
    response = browser.post(f"{POLICIES}add/", policy_form(team, level))

    assert response.status_code == 200
    assert message in page(response)
    assert not EscalationPolicy.objects.exists()


@pytest.mark.parametrize(
    ("value", "saved"), [("00:30:00", timedelta(minutes=30)), ("", None)]
)
def test_the_acknowledgement_timeout_is_set_in_the_admin(
    browser, team, responder, value, saved
):
    form = policy_form(team, {"users": [responder.pk]}, ack_timeout=value)
    response = browser.post(f"{POLICIES}add/", form)

    assert response.status_code == 302, page(response)
    assert EscalationPolicy.objects.get().ack_timeout == saved


@pytest.mark.parametrize(
    ("value", "message"), [("00:00:59", "At least 1 minute."), ("8 00:00", "At most")]
)
def test_an_acknowledgement_timeout_out_of_range_is_refused(
    browser, team, responder, value, message
):
    form = policy_form(team, {"users": [responder.pk]}, ack_timeout=value)
    response = browser.post(f"{POLICIES}add/", form)

    assert response.status_code == 200
    assert message in page(response)
    assert not EscalationPolicy.objects.exists()


def test_a_user_outside_the_team_is_refused(browser, team, outsider):
    response = browser.post(
        f"{POLICIES}add/", policy_form(team, {"users": [outsider.pk]})
    )

    assert response.status_code == 200
    assert "outsider is not an active member of team Platform" in page(response)
    assert not EscalationPolicy.objects.exists()


def test_changing_a_policy_shows_its_targets_and_replaces_its_levels(
    browser, sop_policy, commander, team_lead
):
    change = f"{POLICIES}{sop_policy.pk}/change/"
    shown = page(browser.get(change))
    levels = list(sop_policy.levels.order_by("position"))
    assert '<option value="platform:lead" selected>' in shown
    assert "Choose a service" in shown
    assert "preview/?service=" in shown

    # Swap L1 and L3, drop L4.
    rows = [
        {"id": levels[0].pk, "position": 3, "users": [levels[0].targets.get().user_id]},
        {"id": levels[1].pk, "position": 2, "teams": ["platform:lead"]},
        {"id": levels[2].pk, "position": 1, "users": [commander.pk]},
        {
            "id": levels[3].pk,
            "position": 4,
            "teams": ["platform:manager"],
            "DELETE": "on",
        },
    ]
    form = {
        "name": "SOP",
        "team": sop_policy.team_id,
        "description": "",
        "repeat": 1,
        **level_rows(*rows, initial=4),
    }
    for index in range(len(rows)):
        form[f"levels-{index}-policy"] = sop_policy.pk

    response = browser.post(change, form)

    assert response.status_code == 302, page(response)
    sop_policy.refresh_from_db()
    assert sop_policy.repeat == 1
    assert [
        (lv.position, [str(t) for t in lv.targets.all()])
        for lv in sop_policy.levels.order_by("position")
    ] == [
        (1, ["user commander"]),
        (2, ["team Platform (Team leads)"]),
        (3, ["user responder"]),
    ]


def test_a_policy_a_service_uses_is_not_deleted(browser, sop_policy):
    response = browser.post(
        f"{POLICIES}{sop_policy.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert "give them another policy first" in " ".join(told(response))
    assert EscalationPolicy.objects.filter(pk=sop_policy.pk).exists()


# --- Preview --------------------------------------------------------------------------


def test_the_preview_lists_minutes_levels_people_channels_and_skips(
    browser, service, sop_policy
):
    response = browser.get(
        f"{POLICIES}preview/", {"service": service.pk, "severity": "P2"}
    )

    assert response.status_code == 200
    html = page(response)
    start = html.index('<table id="preview">')
    table = html[start : html.index("</table>", start)]
    rows = [
        [" ".join(cell.split()) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in table.split("<tr>")[2:]
    ]
    assert [row[:3] for row in rows] == [
        ["0", "L1 (On-call engineer)", "escalation"],
        ["240", "L2 (Team lead)", "escalation"],
        ["480", "L3 (Incident commander)", "escalation"],
        ["720", "L4 (Management)", "escalation"],
    ]
    assert rows[0][3:] == [
        "responder<br>",
        "email responder@example.com @ 0 min <br>",
        "",
    ]
    assert rows[3][3:] == ["", "", "only for P0 and worse<br>"]
    assert "After the last level the escalation ends" in html


def test_the_preview_form_offers_your_services(browser, service):
    response = browser.get(f"{POLICIES}preview/")

    assert response.status_code == 200
    assert f'<option value="{service.pk}">Website</option>' in page(response)
    assert '<table id="preview">' not in page(response)


# --- Manual controls ------------------------------------------------------------------


@pytest.fixture
def p1(service, sop_policy, responder) -> Incident:
    return declare(service, "P1", by=responder)


def controls(browser, incident: Incident, **data: object):
    escalation = Escalation.objects.get(incident=incident)
    return browser.post(f"{ESCALATIONS}{escalation.pk}/controls/", data, follow=True)


def test_the_escalation_page_shows_its_steps_and_the_controls(browser, p1):
    escalation = Escalation.objects.get(incident=p1)

    html = page(browser.get(f"{ESCALATIONS}{escalation.pk}/change/"))

    assert "Manual controls" in html
    assert f'action="{ESCALATIONS}{escalation.pk}/controls/"' in html
    assert html.index("Manual controls") < html.index("Steps (every level")
    assert "Paged at declaration" in html
    assert "r1.declare.L2" not in html  # the steps' internal keys stay inside


def test_escalating_by_hand_from_the_admin_pages_the_next_level(browser, p1, team_lead):
    response = controls(browser, p1, action="escalate")

    assert "Escalated by hand: paged lead" in told(response)
    step = EscalationStep.objects.get(cause="manual")
    assert (step.level, step.users, step.by.username) == (2, ["lead"], "boss")
    assert Delivery.objects.filter(
        user=team_lead, event_key__contains="r1.0.L2"
    ).exists()


def test_reassigning_and_adding_a_responder_from_the_admin(
    browser, p1, commander, manager
):
    reassigned = controls(
        browser, p1, action="reassign", user=commander.pk, reason="DB expert"
    )
    added = controls(browser, p1, action="responder", user=manager.pk)

    assert "Reassigned: paged commander" in told(reassigned)
    assert "Responder added: paged manager" in told(added)
    assert p1.timeline.filter(message="Reassigned to commander — DB expert").exists()
    assert p1.timeline.filter(message="Responder added: manager").exists()


def test_the_controls_need_a_user_to_page(browser, p1):
    response = controls(browser, p1, action="reassign")

    assert "Choose whom to page." in " ".join(told(response))
    assert not EscalationStep.objects.filter(cause="reassign").exists()


def test_a_refusal_is_shown_as_an_error(browser, p1, responder):
    incident_transition(incident=verify(p1), to=Incident.Status.RESOLVED, by=responder)

    response = controls(browser, p1, action="escalate")

    (message,) = get_messages(response.wsgi_request)
    assert (message.level_tag, str(message)) == (
        "error",
        f"incident {p1.public_id} is resolved",
    )
    assert not EscalationStep.objects.filter(cause="manual").exists()


def test_escalations_are_not_added_or_edited_by_hand(browser, p1):
    escalation = Escalation.objects.get(incident=p1)

    assert browser.get(f"{ESCALATIONS}add/").status_code == 403
    response = browser.post(
        f"{ESCALATIONS}{escalation.pk}/change/", {"state": "stopped"}
    )
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.state == "active"
