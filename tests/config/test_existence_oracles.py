"""An error never tells "exists elsewhere" from "does not exist".

Each reference the API takes (a username, a contact method's id, an
integration's id in a filter) is looked up among what the caller may use:
another team's or another user's thing gets the answer a missing one gets,
word for word but for the reference itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from incidents.services import integration_create
from tests.factories import ContactMethodFactory, ServiceFactory

MISSING_USER = "nobody-at-all"


def same_answer(theirs: Any, absent: Any, their_ref: object, absent_ref: object):
    """Assert both answers are one refusal, once the reference is blanked."""
    assert theirs.status_code == absent.status_code == 400, theirs.content
    blank = str(theirs.json()).replace(str(their_ref), "REF")
    assert blank == str(absent.json()).replace(str(absent_ref), "REF")


def test_assigning_a_role_to_a_stranger_is_refused_as_to_nobody(
    api, incident, outsider
):
    url = f"/api/v1/incidents/{incident.public_id}/assign-role/"

    def assign(username: str):
        body = {"role": "incident_commander", "user": username}
        return api.post(url, body, format="json")

    same_answer(assign("outsider"), assign(MISSING_USER), "outsider", MISSING_USER)


def test_a_rule_on_someone_elses_contact_method_is_refused_as_on_none(
    api, responder, outsider
):
    theirs = ContactMethodFactory(user=outsider)
    missing = theirs.pk + 1000

    def rule(method: int):
        return api.post(
            "/api/v1/notification-rules/",
            {"urgency": "high", "contact_method": method},
            format="json",
        )

    same_answer(rule(theirs.pk), rule(missing), theirs.pk, missing)


@pytest.mark.parametrize("path", ["/api/v1/alerts/", "/api/v1/alert-events/"])
def test_filtering_by_another_teams_integration_is_refused_as_by_none(
    api, service, outsider, path
):
    bots = ServiceFactory(team=outsider.teams.get(), slug="bot")
    theirs, _ = integration_create(name="Bot hook", kind="generic", service=bots)
    missing = theirs.pk + 1000

    same_answer(
        api.get(path, {"integration": theirs.pk}),
        api.get(path, {"integration": missing}),
        theirs.pk,
        missing,
    )


@pytest.fixture
def schedule_id(api, team) -> int:
    body = {"name": "Primary", "team": "platform", "time_zone": "UTC", "layers": []}
    response = api.post("/api/v1/schedules/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


@pytest.mark.parametrize("field", ["user", "covered_user"])
def test_an_override_for_a_stranger_is_refused_as_for_nobody(
    api, responder, outsider, schedule_id, field
):
    def override(username: str):
        body = {
            "user": "responder",
            "start": "2030-01-01T00:00:00Z",
            "end": "2030-01-02T00:00:00Z",
            field: username,
        }
        return api.post(
            f"/api/v1/schedules/{schedule_id}/overrides/", body, format="json"
        )

    same_answer(override("outsider"), override(MISSING_USER), "outsider", MISSING_USER)


def test_a_layer_of_strangers_is_refused_as_a_layer_of_nobody(api, team, outsider):
    def schedule(username: str):
        layer = {
            "name": "Weekly",
            "start_date": "2030-01-07",
            "handoff_time": "09:00",
            "members": [username],
        }
        body = {"name": "P", "team": "platform", "time_zone": "UTC", "layers": [layer]}
        return api.post("/api/v1/schedules/", body, format="json")

    same_answer(schedule("outsider"), schedule(MISSING_USER), "outsider", MISSING_USER)
