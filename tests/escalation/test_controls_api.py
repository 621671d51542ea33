"""Escalate now, reassign and add a responder through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from escalation.models import Escalation
from escalation.timeline_kinds import ESCALATED, REASSIGNED, RESPONDER_ADDED
from incidents.models import Incident, TimelineEvent
from incidents.services import incident_transition
from notifications.models import Delivery
from tests.conftest import api_client
from tests.factories import MembershipFactory, declare, verify

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def p1(service, sop_policy, responder) -> Incident:
    """A P1 declared at T0: the lead paged at declaration, L1 the responder."""
    with time_machine.travel(T0, tick=False):
        return declare(service, "P1", by=responder)


def url(incident: Incident, action: str) -> str:
    return f"/api/v1/incidents/{incident.public_id}/{action}/"


def pages_to(user) -> list[str]:
    """Return the escalation keys of the pages written for `user`."""
    keys = Delivery.objects.filter(user=user, purpose=Delivery.Purpose.PAGE)
    return sorted(key.split(":")[2] for key in keys.values_list("event_key", flat=True))


def last_entry(incident: Incident) -> TimelineEvent:
    return incident.timeline.order_by("-at", "-id")[0]


def test_escalating_now_pages_the_next_level_and_goes_on_climbing(
    api, p1, responder, team_lead
):
    escalation = Escalation.objects.get(incident=p1)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        response = api.post(url(p1, "escalate"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body["step"][k] for k in ("key", "cause", "level", "outcome")} == {
        "key": "r1.0.L2",
        "cause": "manual",
        "level": 2,
        "outcome": "paged",
    }
    assert (body["step"]["users"], body["step"]["by"]) == (["lead"], "responder")
    assert {k: body["escalation"][k] for k in ("state", "level", "next_level")} == {
        "state": "active",
        "level": 2,
        "next_level": 3,
    }
    assert body["escalation"]["due_at"] == "2026-11-24T10:10:00Z"
    assert pages_to(team_lead) == [
        f"esc{escalation.pk}.r1.0.L2",
        f"esc{escalation.pk}.r1.declare.L2",
    ]
    entry = last_entry(p1)
    assert (entry.kind, entry.actor) == (ESCALATED, responder)
    assert entry.message == "Escalated by hand to L2 (Team lead): paged lead"


def test_reassigning_pages_the_user_and_gives_them_the_levels_time(
    api, p1, responder, commander
):
    escalation = Escalation.objects.get(incident=p1)
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        response = api.post(
            url(p1, "reassign"), {"user": "commander", "reason": "knows the DB"}
        )

    assert response.status_code == 200, response.content
    step = response.json()["step"]
    assert (step["key"], step["cause"], step["level"]) == (
        "reassign.1",
        "reassign",
        None,
    )
    assert (step["users"], step["by"]) == (["commander"], "responder")
    # The next level now waits its full hour from the reassignment.
    assert response.json()["escalation"]["due_at"] == "2026-11-24T10:30:00Z"
    assert pages_to(commander) == [f"esc{escalation.pk}.reassign.1"]
    entry = last_entry(p1)
    assert (entry.kind, entry.actor) == (REASSIGNED, responder)
    assert entry.message == "Reassigned to commander — knows the DB"


def test_adding_a_responder_pages_them_once(api, p1, responder, manager):
    escalation = Escalation.objects.get(incident=p1)

    first = api.post(url(p1, "responders"), {"user": "manager"})
    again = api.post(url(p1, "responders"), {"user": "manager"})

    assert first.status_code == 200, first.content
    step = first.json()["step"]
    assert (step["cause"], step["users"]) == ("responder", ["manager"])
    assert first.json()["escalation"]["level"] == 1  # the climb is untouched
    assert pages_to(manager) == [f"esc{escalation.pk}.responder.r1.u{manager.pk}"]
    assert again.status_code == 409
    assert again.json() == {
        "detail": "manager was already paged for this",
        "code": "escalation",
    }
    assert len(pages_to(manager)) == 1
    entry = p1.timeline.get(kind=RESPONDER_ADDED)
    assert (entry.message, entry.actor) == ("Responder added: manager", responder)


def test_the_escalation_shows_its_state_and_every_step(api, p1, manager):
    api.post(url(p1, "responders"), {"user": "manager"})

    response = api.get(url(p1, "escalation"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["incident"], body["policy"], body["state"]) == (
        p1.public_id,
        "SOP",
        "active",
    )
    assert [(s["key"], s["cause"], s["users"]) for s in body["steps"]] == [
        ("r1.0.L1", "escalation", ["responder"]),
        ("r1.declare.L2", "declaration", ["lead"]),
        (f"responder.r1.u{manager.pk}", "responder", ["manager"]),
    ]


# --- Refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "method"),
    [
        ("escalate", "post"),
        ("reassign", "post"),
        ("responders", "post"),
        ("escalation", "get"),
    ],
)
def test_another_teams_incident_is_not_found_and_strangers_are_refused(
    p1, outsider, action, method
):
    before = Delivery.objects.count()
    body = {"user": "outsider"}

    hidden = getattr(api_client(outsider), method)(url(p1, action), body)
    anonymous = getattr(api_client(), method)(url(p1, action), body)

    assert hidden.status_code == 404
    assert anonymous.status_code == 401
    assert Delivery.objects.count() == before


@pytest.mark.parametrize("action", ["escalate", "reassign", "responders"])
def test_nothing_is_paged_for_a_resolved_incident(api, p1, responder, action):
    incident_transition(incident=verify(p1), to=Incident.Status.RESOLVED, by=responder)
    before = Delivery.objects.filter(purpose=Delivery.Purpose.PAGE).count()

    response = api.post(url(p1, action), {"user": "lead"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"incident {p1.public_id} is resolved",
        "code": "escalation",
    }
    assert Delivery.objects.filter(purpose=Delivery.Purpose.PAGE).count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user"),
        ({"user": "nobody"}, "user"),
        ({"user": "outsider"}, "user"),
        ({"user": "lead", "urgent": True}, "urgent"),
    ],
)
@pytest.mark.parametrize("action", ["reassign", "responders"])
def test_bad_input_is_refused(api, p1, outsider, action, body, field):
    response = api.post(url(p1, action), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_user_who_cannot_be_reached_is_refused(api, p1, team):
    MembershipFactory(team=team, user__username="quiet")

    response = api.post(url(p1, "reassign"), {"user": "quiet"})

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "cannot page: quiet has no verified contact method"
    )
    assert not p1.timeline.filter(kind=REASSIGNED).exists()


def test_there_is_nothing_to_climb_without_a_policy(api, service, responder):
    incident = declare(service, "P1", by=responder)

    climbed = api.post(url(incident, "escalate"))
    shown = api.get(url(incident, "escalation"))

    assert climbed.status_code == 409
    assert climbed.json()["detail"] == (
        "service Website has no escalation policy to climb"
    )
    assert shown.json()["state"] == "no_policy"


def test_an_incident_without_an_escalation_says_so(api, p1):
    Escalation.objects.filter(incident=p1).delete()

    shown = api.get(url(p1, "escalation"))
    climbed = api.post(url(p1, "escalate"))

    assert shown.status_code == 404
    assert shown.json()["detail"] == f"incident {p1.public_id} has no escalation yet"
    assert climbed.status_code == 409
