"""The API asks for the same model permissions as the admin.

Reads need a signed-in user (every list is scoped to the user's teams);
writes need the model permission the admin would ask for the same change.
A responder of the "Responders" group works their teams' incidents, policies,
schedules and contact methods through either, and neither lets them edit the
global severity matrix; a superuser may do everything.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User

from incidents.models import SeverityLevel
from tests.conftest import api_client, staff_client
from tests.factories import MembershipFactory

P3 = "/api/v1/severities/P3/"


@pytest.fixture
def staff_responder(responder) -> User:
    staff_client(responder)
    responder.refresh_from_db()
    return responder


def test_a_staff_responder_cannot_edit_the_severity_matrix_in_api_or_admin(
    staff_responder,
):
    api = api_client(staff_responder)
    admin = staff_client(staff_responder)

    api_answer = api.patch(P3, {"name": "Trivial"}, format="json")
    admin_answer = admin.post("/admin/incidents/severitylevel/P3/change/", {})

    assert (api_answer.status_code, admin_answer.status_code) == (403, 403)
    assert SeverityLevel.objects.get(code="P3").name != "Trivial"
    assert api.get(P3).status_code == 200


def test_a_superuser_edits_the_severity_matrix(db):
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw")

    response = api_client(boss).patch(P3, {"name": "Trivial"}, format="json")

    assert response.status_code == 200, response.content
    assert SeverityLevel.objects.get(code="P3").name == "Trivial"


def test_a_user_granted_the_model_permission_edits_the_matrix(team):
    editor = MembershipFactory(team=team, user__username="editor").user
    editor.user_permissions.add(Permission.objects.get(codename="change_severitylevel"))

    response = api_client(editor).patch(P3, {"name": "Trivial"}, format="json")

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/incidents/", {"title": "Down", "severity": "P1",
                                        "service": "website"}),
        ("post", "/api/v1/contact-methods/", {"kind": "email",
                                              "address": "x@example.com"}),
        ("post", "/api/v1/schedules/", {"name": "Primary", "team": "platform",
                                        "time_zone": "UTC", "layers": []}),
    ],
)  # fmt: skip
def test_a_team_member_outside_the_responders_group_only_reads(
    service, method, path, body
):
    reader = MembershipFactory(team=service.team, user__username="reader").user
    client = api_client(reader)

    response = getattr(client, method)(path, body, format="json")

    assert response.status_code == 403, response.content
    assert client.get(path).status_code == 200
