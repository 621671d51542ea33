from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User

from incidents.models import Incident, IncidentRole, SeverityLevel
from tests.conftest import api_client, database_unavailable
from tests.factories import ServiceFactory, core_timeline, declare

URL = "/api/v1/incidents/"


def detail(incident: Incident, action: str = "") -> str:
    return f"{URL}{incident.public_id}/{action + '/' if action else ''}"


@pytest.mark.parametrize(
    "path",
    [URL, f"{URL}INC-2026-01-01-001/", "/api/v1/services/", "/api/v1/teams/",
     "/api/v1/severities/"],
)  # fmt: skip
def test_anonymous_requests_get_401_with_a_challenge(db, path):
    response = api_client().get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_401(db):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get(URL).status_code == 401


def test_declare_an_incident(api, service, responder):
    response = api.post(
        URL,
        {
            "title": "Site completely offline",
            "severity": "P0",
            "service": "website",
            "category": "site_down",
            "detection_source": "monitoring_alert",
            "users_affected": 5000,
        },
    )
    assert response.status_code == 201, response.data
    body = response.json()
    assert body["public_id"].startswith("INC-")
    assert body["status"] == "triggered"
    assert body["severity"] == "P0"
    assert body["team"] == "platform"
    assert body["created_by"] == "responder"
    assert "acknowledged" in body["allowed_transitions"]
    assert body["war_room_channel"].endswith("-site-completely-offline")
    incident = Incident.objects.get(public_id=body["public_id"])
    assert core_timeline(incident).get().actor == responder


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"severity": "P1", "service": "website"}, "title"),
        ({"title": "x", "severity": "P9", "service": "website"}, "severity"),
        ({"title": "x", "severity": "P1", "service": "nope"}, "service"),
        ({"title": "x", "severity": "P1", "service": "website", "category": "?"},
         "category"),
        ({"title": "x", "severity": "P1", "service": "website",
          "detected_at": "yesterday"}, "detected_at"),
        ({"title": "x", "severity": "P1", "service": "website", "status": "closed"},
         "status"),
        ({"title": "x", "severity": "P1", "service": "website",
          "users_affected": -1}, "users_affected"),
    ],
)  # fmt: skip
def test_invalid_declarations_are_400_with_field_messages(api, service, payload, field):
    response = api.post(URL, payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not Incident.objects.exists()


def test_impact_after_detection_is_a_400(api, service):
    response = api.post(
        URL,
        {
            "title": "x",
            "severity": "P1",
            "service": "website",
            "started_at": "2026-01-01T10:00:00Z",
            "detected_at": "2026-01-01T09:00:00Z",
        },
    )
    assert response.status_code == 400
    assert response.json()["field"] == "started_at"


def test_outsiders_cannot_see_or_touch_another_teams_incident(incident, outsider):
    client = api_client(outsider)
    assert client.get(URL).json()["count"] == 0
    assert client.get(detail(incident)).status_code == 404
    for action in ("acknowledge", "transition", "note", "severity", "assign-role"):
        assert client.post(detail(incident, action), {}).status_code == 404
    assert client.patch(detail(incident), {"title": "pwned"}).status_code == 404
    assert client.get(detail(incident, "timeline")).status_code == 404
    assert client.get(detail(incident, "timeline/export")).status_code == 404
    incident.refresh_from_db()
    assert incident.status == "triggered"
    assert incident.title != "pwned"


def test_outsiders_cannot_declare_on_another_teams_service(service, outsider):
    response = api_client(outsider).post(
        URL, {"title": "x", "severity": "P1", "service": service.slug}
    )
    assert response.status_code == 400
    assert "service" in response.json()


def test_list_filters(api, service, responder):
    other = ServiceFactory(team=service.team, slug="api")
    p0 = declare(service, "P0", by=responder)
    declare(other, "P2", by=responder, is_drill=True)
    api.post(detail(p0, "acknowledge"))

    def ids(query: str) -> list[str]:
        response = api.get(URL + query)
        assert response.status_code == 200, response.data
        return [row["severity"] for row in response.json()["results"]]

    assert ids("?severity=P0") == ["P0"]
    assert ids("?status=acknowledged") == ["P0"]
    assert ids("?status=triggered&status=acknowledged") == ["P2", "P0"]
    assert ids("?service=api") == ["P2"]
    assert ids("?team=platform") == ["P2", "P0"]
    assert ids("?team=bots") == []
    assert ids("?is_drill=true") == ["P2"]
    assert ids(f"?search={p0.public_id}") == ["P0"]
    assert ids("?ordering=severity__rank") == ["P0", "P2"]


@pytest.mark.parametrize(
    "query",
    ["?status=nope", "?severity=P7", "?is_drill=maybe", "?detected_after=soon"],
)
def test_bad_filters_are_400(api, incident, query):
    response = api.get(URL + query)
    assert response.status_code == 400


def test_acknowledge_then_acknowledge_again_is_409(api, incident):
    response = api.post(detail(incident, "acknowledge"))
    assert response.status_code == 200
    assert response.json()["status"] == "acknowledged"
    assert response.json()["acknowledged_at"] is not None

    again = api.post(detail(incident, "acknowledge"))
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"
    assert again.json()["current"] == "acknowledged"


def test_illegal_transition_is_409_naming_the_allowed_ones(api, incident):
    response = api.post(detail(incident, "transition"), {"status": "closed"})
    assert response.status_code == 409
    body = response.json()
    assert body["current"] == "triggered"
    assert body["requested"] == "closed"
    assert "resolved" in body["allowed"]


def test_transition_to_an_unknown_status_is_400(api, incident):
    response = api.post(detail(incident, "transition"), {"status": "done"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_transition_with_reason_lands_on_the_timeline(api, incident):
    response = api.post(
        detail(incident, "transition"),
        {"status": "investigating", "reason": "checking the load balancer"},
    )
    assert response.status_code == 200
    event = incident.timeline.last()
    assert event.via == "api"
    assert event.message.endswith("checking the load balancer")


def test_severity_action(api, incident):
    response = api.post(detail(incident, "severity"), {"severity": "P0"})
    assert response.status_code == 200
    assert response.json()["severity"] == "P0"
    assert api.post(detail(incident, "severity"), {"severity": "P0"}).status_code == 400


def test_assign_role_and_hand_over(api, incident, team_lead, outsider):
    response = api.post(
        detail(incident, "assign-role"),
        {"role": "incident_commander", "user": "lead"},
    )
    assert response.status_code == 200
    roles = response.json()["roles"]
    assert [(r["role"], r["user"]["username"]) for r in roles] == [
        ("incident_commander", "lead")
    ]
    refused = api.post(
        detail(incident, "assign-role"), {"role": "scribe", "user": "outsider"}
    )
    # Found among the caller's teammates only: a stranger is "does not exist".
    assert refused.status_code == 400
    assert refused.json()["user"] == ["Object with username=outsider does not exist."]
    unknown = api.post(
        detail(incident, "assign-role"), {"role": "boss", "user": "lead"}
    )
    assert unknown.status_code == 400
    assert incident.role_assignments.count() == 1


def test_note_action_returns_the_event(api, incident):
    response = api.post(
        detail(incident, "note"), {"text": "DNS looks fine", "kind": "hypothesis"}
    )
    assert response.status_code == 201
    assert response.json()["kind"] == "note"
    assert response.json()["data"] == {"note_kind": "hypothesis"}
    assert api.post(detail(incident, "note"), {"text": ""}).status_code == 400


def test_patch_edits_details_and_refuses_status(api, incident):
    response = api.patch(detail(incident), {"root_cause": "Disk full"})
    assert response.status_code == 200
    assert response.json()["root_cause"] == "Disk full"
    refused = api.patch(detail(incident), {"status": "closed"})
    assert refused.status_code == 400
    assert "status" in refused.json()
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_put_and_delete_are_not_offered(api, incident):
    assert api.put(detail(incident), {"title": "x"}).status_code == 405
    assert api.delete(detail(incident)).status_code == 405
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_timeline_is_paginated_oldest_first(api, incident):
    api.post(detail(incident, "acknowledge"))
    api.post(detail(incident, "note"), {"text": "looking"})
    body = api.get(detail(incident, "timeline")).json()
    assert body["count"] == 5
    assert [e["kind"] for e in body["results"]] == [
        "created",
        "status_update_posted",  # the initial notification
        "escalation_skipped",  # the service has no escalation policy
        "acknowledged",
        "note",
    ]
    assert body["results"][3]["actor"] == "responder"


def test_timeline_export_is_the_sop_markdown_document(api, incident, team_lead):
    api.post(
        detail(incident, "assign-role"),
        {"role": "incident_commander", "user": "lead"},
    )
    api.post(detail(incident, "note"), {"text": "Rolled back 2.3.1", "kind": "action"})
    api.post(detail(incident, "note"), {"text": "Freeze deploys", "kind": "decision"})
    response = api.get(detail(incident, "timeline/export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert (
        f'filename="{incident.public_id}-timeline.md"'
        in response["Content-Disposition"]
    )
    text = response.content.decode()
    assert text.startswith("# Incident: Checkout returns 500\n")
    assert "**Severity:** P1 (High)" in text
    assert "**Incident Commander:** lead" in text
    assert "## Timeline" in text
    assert "Action taken: Rolled back 2.3.1 (responder)" in text
    actions = text.split("## Actions Taken")[1].split("## Key Decisions")
    assert "Rolled back 2.3.1" in actions[0]
    assert "Freeze deploys" in actions[1]


def test_services_and_teams_are_scoped_to_membership(api, service, outsider):
    ServiceFactory(team=outsider.teams.get(), slug="discord-bot")
    assert [s["slug"] for s in api.get("/api/v1/services/").json()["results"]] == [
        "website"
    ]
    assert [t["slug"] for t in api.get("/api/v1/teams/").json()["results"]] == [
        "platform"
    ]
    assert api.get("/api/v1/services/discord-bot/").status_code == 404
    assert api.get("/api/v1/teams/bots/").status_code == 404


def test_create_a_service_only_in_your_own_team(api, service):
    created = api.post("/api/v1/services/", {"name": "Status API", "team": "platform"})
    assert created.status_code == 201
    assert created.json()["slug"] == "status-api"
    refused = api.post("/api/v1/services/", {"name": "Sneaky", "team": "bots"})
    assert refused.status_code == 400


def test_severity_matrix_is_readable_and_editable_with_the_model_permission(
    api, responder
):
    matrix = api.get("/api/v1/severities/").json()
    assert [row["code"] for row in matrix] == ["P0", "P1", "P2", "P3"]
    assert matrix[0]["ack_target"] == "00:15:00"
    User.objects.filter(pk=responder.pk).update(is_staff=True)
    assert api.patch("/api/v1/severities/P0/", {"name": "x"}).status_code == 403

    responder.user_permissions.add(
        Permission.objects.get(codename="change_severitylevel")
    )
    response = api.patch("/api/v1/severities/P0/", {"ack_target": "00:10:00"})
    assert response.status_code == 200
    assert response.json()["version"] == 2
    p0 = SeverityLevel.objects.get(code="P0")
    assert p0.revisions.get().values["ack_target"] == 900.0


def test_a_target_or_cadence_of_zero_or_less_is_refused_and_nothing_changes(
    api, responder
):
    responder.user_permissions.add(
        Permission.objects.get(codename="change_severitylevel")
    )
    User.objects.filter(pk=responder.pk).update(is_staff=True)

    for field, value in (
        ("update_cadence", "00:00:00"),
        ("ack_target", "-00:05:00"),
        ("resolve_target", "00:00:00"),
    ):
        response = api.patch("/api/v1/severities/P1/", {field: value})
        assert response.status_code == 400, field
        assert field in response.json(), response.json()

    p1 = SeverityLevel.objects.get(code="P1")
    assert (p1.version, p1.update_cadence) == (1, timedelta(hours=2))


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/incidents/{public_id}/acknowledge/", "/api/v1/severities/"):
        assert path in text
    assert "'409':" in text
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


GARBAGE = [
    None,
    [],
    ["a"],
    "text",
    42,
    {"title": None, "severity": None, "service": None},
    {"title": ["x"], "severity": {"a": 1}, "service": 7},
    {"title": "x" * 5000, "severity": "P1", "service": "website"},
    {"title": "nul\x00byte", "severity": "P1", "service": "website"},
    {"status": 12, "reason": []},
    {"role": None, "user": {"id": 1}},
    {"text": {"a": "b"}, "kind": None},
    {"severity": ["P0"], "reason": 1},
    {"started_at": "2026-13-45T99:99:99Z", "users_affected": 2**70},
]


@pytest.mark.parametrize("body", GARBAGE)
@pytest.mark.parametrize(
    ("method", "action"),
    [("post", ""), ("patch", "detail"), ("post", "acknowledge"), ("post", "transition"),
     ("post", "severity"), ("post", "assign-role"), ("post", "note")],
)  # fmt: skip
def test_no_input_produces_a_500(api, incident, body, method, action):
    if action == "":
        path = URL
    elif action == "detail":
        path = detail(incident)
    else:
        path = detail(incident, action)
    response = getattr(api, method)(path, body, format="json")
    assert response.status_code < 500
    assert core_timeline(incident).count() <= 2


@pytest.mark.parametrize(
    "query",
    ["?page=abc", "?page=999", "?page_size=-1", "?page_size=abc", "?ordering=nope",
     "?detected_before=2026-99-01", "?search=%00", "?status="],
)  # fmt: skip
def test_no_query_string_produces_a_500(api, incident, query):
    assert api.get(URL + query).status_code < 500


def test_roles_choices_cover_the_sop_five():
    assert [label for _, label in IncidentRole.choices] == [
        "Incident Commander",
        "Technical Lead",
        "Communications Lead",
        "Support Lead",
        "Scribe",
    ]


def test_while_the_database_is_unavailable_the_api_answers_503(api):
    with database_unavailable():
        response = api.get(URL)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The database is unavailable; retry later.",
        "code": "unavailable",
    }
    assert api.get(URL).status_code == 200
