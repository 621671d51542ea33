"""Escalation targets stay inside the policy's team.

A policy of team Platform may not name Bravo's schedule or Bravo itself: the
API and the admin refuse it with the words they use for a thing that does not
exist, and a target that got in before (written straight to the database) is
skipped, so neither the preview nor a page ever reaches Bravo's people.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from escalation.exceptions import EscalationPolicyError
from escalation.models import EscalationPolicy, EscalationTarget, Schedule
from escalation.preview import escalation_preview
from escalation.services import LayerInput, schedule_create
from escalation.services.policies import (
    escalation_policy_create,
    service_set_escalation_policy,
)
from incidents.models import SeverityLevel, Team
from notifications.models import Delivery
from tests.conftest import api_client, staff_client
from tests.escalation.conftest import add_level, reachable, team_target
from tests.escalation.test_escalation_admin import policy_form
from tests.factories import MembershipFactory, TeamFactory, declare

POLICIES = "/api/v1/escalation-policies/"
PREVIEW = "/api/v1/services/website/escalation-preview"
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture
def bravo(db) -> Team:
    return TeamFactory(name="Bravo", slug="bravo")


@pytest.fixture
def bravo_person(bravo) -> User:
    return reachable(MembershipFactory(team=bravo, user__username="bravo-oncall").user)


@pytest.fixture
def bravo_schedule(bravo, bravo_person) -> Schedule:
    weekly = LayerInput(
        name="Weekly",
        start_date=date(2026, 3, 2),
        handoff_time=time(9),
        members=[bravo_person],
        shift_count=1,
        shift_unit="weeks",
    )
    return schedule_create(
        team=bravo, name="Bravo primary", time_zone="UTC", layers=[weekly]
    )


def policy_body(target: dict[str, object]) -> dict[str, object]:
    return {"name": "Leaky", "team": "platform", "levels": [{"targets": [target]}]}


# --- The API and the services refuse them ---------------------------------------


def test_the_api_refuses_another_teams_schedule_as_it_refuses_a_missing_one(
    api, bravo_schedule
):
    missing = Schedule.objects.order_by("-pk").first().pk + 1000

    theirs = api.post(
        POLICIES, policy_body({"kind": "schedule", "schedule": bravo_schedule.pk}),
        format="json",
    )  # fmt: skip
    absent = api.post(
        POLICIES, policy_body({"kind": "schedule", "schedule": missing}),
        format="json",
    )  # fmt: skip

    assert (theirs.status_code, absent.status_code) == (400, 400)
    assert str(theirs.json()).replace(str(bravo_schedule.pk), "N") == str(
        absent.json()
    ).replace(str(missing), "N")
    assert not EscalationPolicy.objects.exists()


def test_the_api_refuses_another_team_as_it_refuses_a_missing_one(api, bravo):
    theirs = api.post(
        POLICIES, policy_body({"kind": "team", "team": "bravo"}), format="json"
    )
    absent = api.post(
        POLICIES, policy_body({"kind": "team", "team": "nobody"}), format="json"
    )

    assert (theirs.status_code, absent.status_code) == (400, 400)
    assert str(theirs.json()).replace("bravo", "X") == str(absent.json()).replace(
        "nobody", "X"
    )
    assert not EscalationPolicy.objects.exists()


def test_a_member_of_both_teams_still_cannot_mix_their_targets(
    responder, team, bravo, bravo_schedule
):
    MembershipFactory(team=bravo, user=responder)
    client = api_client(responder)

    for target in (
        {"kind": "schedule", "schedule": bravo_schedule.pk},
        {"kind": "team", "team": "bravo", "team_role": "lead"},
    ):
        response = client.post(POLICIES, policy_body(target), format="json")
        assert response.status_code == 400, response.content
        assert "not of team Platform" in response.json()["detail"]
    assert not EscalationPolicy.objects.exists()


@pytest.mark.parametrize("kind", ["schedule", "team"])
def test_the_services_refuse_a_target_of_another_team(
    team, bravo, bravo_schedule, kind
):
    target = {"kind": kind, kind: bravo_schedule if kind == "schedule" else bravo}

    with pytest.raises(EscalationPolicyError, match="not of team Platform"):
        escalation_policy_create(
            name="Leaky", team=team, levels=[{"targets": [target]}]
        )


# --- The admin refuses them and does not offer them --------------------------------


@pytest.fixture
def responder_browser(responder) -> Client:
    return staff_client(responder)


def test_the_admin_form_offers_only_the_callers_teams_and_schedules(
    responder_browser, schedule, bravo_schedule
):
    page = responder_browser.get("/admin/escalation/escalationpolicy/add/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "Primary" in text
    assert "Platform: everyone" in text
    assert "Bravo" not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [("teams", "bravo"), ("teams", "bravo:lead"), ("schedules", "bravo")],
)
def test_the_admin_refuses_another_teams_targets(
    responder_browser, team, bravo_schedule, field, value
):
    level = {field: [bravo_schedule.pk if field == "schedules" else value]}

    response = responder_browser.post(
        "/admin/escalation/escalationpolicy/add/", policy_form(team, level)
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not EscalationPolicy.objects.exists()


# --- A target that got in before reaches nobody -----------------------------------


@pytest.fixture
def leaky_policy(service, team, bravo, bravo_schedule) -> EscalationPolicy:
    """A policy written straight to the database, as before the check existed."""
    policy = EscalationPolicy.objects.create(name="Leaky", team=team)
    add_level(
        policy,
        1,
        "Theirs",
        {"kind": EscalationTarget.Kind.SCHEDULE, "schedule": bravo_schedule},
        team_target(bravo),
    )
    service_set_escalation_policy(service=service, policy=policy)
    return policy


def test_the_preview_does_not_show_another_teams_people(api, leaky_policy):
    response = api.get(PREVIEW, {"severity": "P0", "at": T0.isoformat()})

    assert response.status_code == 200
    assert "bravo-oncall" not in response.content.decode()
    preview = escalation_preview(
        service=leaky_policy.services.get(),
        severity=SeverityLevel.objects.get(code="P0"),
        at=T0,
    )
    assert [page.user for step in preview.steps for page in step.pages] == []


def test_declaring_does_not_page_another_teams_people(
    service, leaky_policy, bravo_person
):
    declare(service, "P0")

    assert not Delivery.objects.filter(user=bravo_person).exists()
