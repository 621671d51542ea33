"""The drills API and admin: start, list, refuse bad input with a 400."""

from __future__ import annotations

import pytest

from escalation.models import Drill, DrillScenario, DrillSchedule
from tests.conftest import api_client, staff_client
from tests.escalation.drills import scenario
from tests.factories import ServiceFactory, TeamFactory, declare

DRILLS = "/api/v1/drills/"
SCENARIOS = "/api/v1/drills/scenarios/"
SCHEDULES = "/api/v1/drills/schedules/"


def test_the_library_holds_the_six_scenarios_of_the_sops(api):
    response = api.get(SCENARIOS, {"page_size": 50})
    assert response.status_code == 200
    assert sorted(row["slug"] for row in response.json()["results"]) == [
        "bot-offline",
        "database-failure",
        "failed-deployment",
        "performance-crisis",
        "security-breach",
        "site-down",
    ]


def test_posting_a_drill_starts_it_and_shows_its_state(api, service, team, responder):
    response = api.post(
        DRILLS, {"scenario": "site-down", "team": team.slug}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["mode"], body["service"]) == (
        "running",
        "normal",
        service.slug,
    )
    assert body["started_by"]["username"] == responder.username
    assert api.get(f"{DRILLS}{body['id']}/").json()["state"] == "running"


def test_a_drill_postponed_by_a_real_p0_says_why_in_the_api(api, service, team):
    real = declare(service, "P0", title="Real outage")
    body = api.post(
        DRILLS, {"scenario": "site-down", "team": team.slug}, format="json"
    ).json()
    assert body["state"] == "postponed"
    assert real.public_id in body["reason"]
    called_off = api.post(f"{DRILLS}{body['id']}/cancel/")
    assert (called_off.status_code, called_off.json()["state"]) == (200, "cancelled")
    again = api.post(f"{DRILLS}{body['id']}/cancel/")
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scenario": "nope", "team": "platform"}, "scenario"),
        ({"scenario": "site-down", "team": "nope"}, "team"),
        ({"scenario": "site-down", "team": "platform", "mode": "x"}, "mode"),
        ({"scenario": "site-down", "team": "platform", "extra": 1}, "extra"),
    ],
)
def test_a_bad_drill_request_is_a_400_naming_the_field(api, service, body, field):
    response = api.post(DRILLS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Drill.objects.exists()


def test_another_teams_service_is_refused(api, service, team):
    other = ServiceFactory(team=TeamFactory())
    response = api.post(
        DRILLS,
        {"scenario": "site-down", "team": team.slug, "service": other.slug},
        format="json",
    )
    assert response.status_code == 400


def test_a_scenario_with_an_invalid_alert_is_a_400_with_the_reason(db):
    from tests.factories import UserFactory

    admin = api_client(UserFactory(is_superuser=True))
    body = {
        "slug": "broken",
        "name": "Broken",
        "severity": "P1",
        "category": "other",
        "alert_format": "pagerduty",
        "alert": {"event_action": "trigger", "payload": {"summary": "x"}},
    }
    response = admin.post(SCENARIOS, body, format="json")
    assert response.status_code == 400
    assert "payload.source" in response.json()["detail"]
    body["alert"]["payload"].update(source="web", severity="critical")
    assert admin.post(SCENARIOS, body, format="json").status_code == 201
    assert admin.post(SCENARIOS, body, format="json").status_code == 400  # its slug


def test_a_responder_may_not_change_the_library(api):
    pk = scenario().pk
    response = api.patch(f"{SCENARIOS}{pk}/", {"name": "Mine"}, format="json")
    assert response.status_code == 403


def test_a_schedule_through_the_api_shows_its_crontab(api, service, team):
    response = api.post(
        SCHEDULES,
        {"team": team.slug, "name": "Monthly", "frequency": "monthly", "hour": 9},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["cron"], body["time_zone"]) == ("0 9 15 * *", team.time_zone)
    changed = api.patch(f"{SCHEDULES}{body['id']}/", {"day": 1}, format="json")
    assert changed.json()["cron"] == "0 9 1 * *"
    assert (
        api.patch(f"{SCHEDULES}{body['id']}/", {"day": 29}, format="json").status_code
        == 400
    )
    assert api.delete(f"{SCHEDULES}{body['id']}/").status_code == 204
    assert not DrillSchedule.objects.exists()


def test_the_admin_action_runs_a_schedules_drill_now(service, team, team_lead):
    from escalation.services import drill_schedule_create

    schedule = drill_schedule_create(
        team=team, name="Quarterly", scenario=scenario("bot-offline")
    )
    client = staff_client(team_lead)
    response = client.post(
        "/admin/escalation/drillschedule/",
        {"action": "run_now", "_selected_action": [schedule.pk]},
        follow=True,
    )
    assert response.status_code == 200
    drill = Drill.objects.get()
    assert (drill.scenario.slug, drill.state, drill.started_by) == (
        "bot-offline",
        "running",
        team_lead,
    )
    assert b"Drill started" in response.content
    page = client.get(f"/admin/escalation/drill/{drill.pk}/change/")
    assert page.status_code == 200
    assert b"drill-" in page.content  # the alert as it was sent


def test_the_scenario_admin_refuses_an_invalid_alert_on_save(db):
    from django.test import Client

    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(
        "/admin/escalation/drillscenario/add/",
        {
            "name": "Broken",
            "slug": "broken",
            "severity": "P1",
            "category": "other",
            "alert_format": "alertmanager",
            "alert": '{"version": "3"}',
            "expected": "[]",
            "time_box": "01:00:00",
        },
    )
    assert response.status_code == 200
    assert b"version" in response.content
    assert not DrillScenario.objects.filter(slug="broken").exists()
