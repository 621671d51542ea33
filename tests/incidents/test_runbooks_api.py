"""The runbook API: incident checklists, runbooks, external contacts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from incidents.models import ExternalContact, Incident, Runbook
from incidents.services.runbook_setup import runbook_create
from incidents.timeline_kinds import (
    RUNBOOK_STEP_DONE,
    RUNBOOK_STEP_NOTE,
    RUNBOOK_STEP_REOPENED,
    RUNBOOK_STEP_SKIPPED,
)
from tests.conftest import api_client
from tests.factories import MembershipFactory, ServiceFactory, declare


def steps_url(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.public_id}/runbook-steps/{suffix}"


@pytest.fixture
def security(service) -> Incident:
    return declare(service, "P1", category=Incident.Category.SECURITY)


@pytest.fixture
def first_step(security: Incident) -> int:
    return security.runbook_steps.get(position=1).pk


@pytest.fixture
def editor(responder: User) -> APIClient:
    """The responder, given the Responders group's rights on runbooks."""
    responder.is_staff = True
    responder.save()
    responder.groups.add(Group.objects.get(name="Responders"))
    return api_client(responder)


# --- The checklist under an incident ----------------------------------------


def test_the_incidents_runbooks_are_listed_with_their_steps(api, security):
    answer = api.get(f"/api/v1/incidents/{security.public_id}/runbooks/")

    assert answer.status_code == 200
    (runbook,) = answer.json()
    assert runbook["name"] == "Security incident"
    assert runbook["reason"] == "declared"
    phases = [step["phase"] for step in runbook["steps"]]
    assert phases[0] == "contain"
    assert phases[-1] == "recover"
    first = runbook["steps"][0]
    assert (first["position"], first["state"], first["done_by"]) == (1, "open", None)
    assert first["runbook"] == "Security incident"


def test_tick_untick_skip_and_note_through_the_api(api, security, first_step):
    tick = api.post(steps_url(security, f"{first_step}/tick/"))
    assert tick.status_code == 200
    assert (tick.json()["state"], tick.json()["done_by"]) == ("done", "responder")
    assert api.post(steps_url(security, f"{first_step}/tick/")).status_code == 200

    untick = api.post(steps_url(security, f"{first_step}/untick/"))
    assert untick.json()["state"] == "open"

    skip = api.post(
        steps_url(security, f"{first_step}/skip/"), {"reason": "Nothing to isolate"}
    )
    assert skip.status_code == 200
    assert skip.json()["skip_reason"] == "Nothing to isolate"

    note = api.post(steps_url(security, f"{first_step}/note/"), {"text": "Checked"})
    assert note.json()["note"] == "Checked"

    events = security.timeline.filter(kind__startswith="runbook_step").order_by("id")
    assert [(e.kind, e.via) for e in events] == [
        (RUNBOOK_STEP_DONE, "api"),
        (RUNBOOK_STEP_REOPENED, "api"),
        (RUNBOOK_STEP_SKIPPED, "api"),
        (RUNBOOK_STEP_NOTE, "api"),
    ]


def test_skipping_a_done_step_is_a_conflict(api, security, first_step):
    api.post(steps_url(security, f"{first_step}/tick/"))
    answer = api.post(steps_url(security, f"{first_step}/skip/"), {"reason": "x"})
    assert answer.status_code == 409
    assert answer.json()["code"] == "runbook_step_state"


def test_one_step_is_read_alone(api, security, first_step):
    answer = api.get(steps_url(security, f"{first_step}/"))
    assert answer.status_code == 200
    assert answer.json()["id"] == first_step
    assert len(api.get(steps_url(security)).json()) == 12


def test_another_teams_incident_and_its_steps_are_not_found(
    outsider, security, first_step
):
    api = api_client(outsider)
    assert (
        api.get(f"/api/v1/incidents/{security.public_id}/runbooks/").status_code == 404
    )
    assert api.post(steps_url(security, f"{first_step}/tick/")).status_code == 404
    assert api.get(steps_url(security)).status_code == 404
    assert not security.runbook_steps.filter(state="done").exists()


def test_a_step_of_another_incident_is_not_found_under_this_one(
    api, service, security, first_step
):
    other = declare(service, "P1", category=Incident.Category.SECURITY)
    assert api.post(steps_url(other, f"{first_step}/tick/")).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["999999/tick/", "abc/tick/", f"{2**70}/tick/", "1/explode/", "-1/tick/"],
)
def test_unknown_steps_are_not_found(api, security, path):
    assert api.post(steps_url(security, path)).status_code == 404


@pytest.mark.parametrize(
    "body",
    [None, [], "text", 42, {"reason": None}, {"reason": ["x"]}, {"reason": ""},
     {"reason": "nul\x00byte"}, {"reason": "x" * 5000}, {"text": {"a": 1}},
     {"reason": "ok", "extra": 1}],
)  # fmt: skip
@pytest.mark.parametrize("verb", ["skip", "note", "tick", "untick"])
def test_no_input_produces_a_500(api, security, first_step, verb, body):
    answer = api.post(steps_url(security, f"{first_step}/{verb}/"), body, format="json")
    assert answer.status_code < 500


def test_bad_json_is_a_400(api, security, first_step):
    answer = api.post(
        steps_url(security, f"{first_step}/skip/"),
        data='{"reason": ',
        content_type="application/json",
    )
    assert answer.status_code == 400


def test_a_runbook_is_attached_by_hand(api, service):
    incident = declare(service, "P3")
    runbook = Runbook.objects.get(name="Bot offline")
    url = f"/api/v1/incidents/{incident.public_id}/runbooks/"

    answer = api.post(url, {"runbook": runbook.pk})
    assert answer.status_code == 201
    assert answer.json()["name"] == "Bot offline"
    assert api.post(url, {"runbook": runbook.pk}).status_code == 400
    assert api.post(url, {"runbook": 10**12}).status_code == 400


# --- Runbooks ----------------------------------------------------------------


STEPS = [
    {"text": "Call the host", "phase": "contain", "commands": "dig +short <host>"},
    {"text": "Check the dashboard", "link": "https://status.example.com/",
     "required": False},
]  # fmt: skip


def test_every_member_reads_the_shared_runbooks_and_their_teams(api, team):
    runbook_create(name="Ours", team=team, steps=[{"text": "a"}])
    theirs = runbook_create(
        name="Theirs", team=MembershipFactory().team, steps=[{"text": "b"}]
    )
    answer = api.get("/api/v1/runbooks/", {"page_size": 100})

    names = [r["name"] for r in answer.json()["results"]]
    assert "Ours" in names
    assert "Security incident" in names
    assert "Theirs" not in names
    assert api.get(f"/api/v1/runbooks/{theirs.pk}/").status_code == 404


def test_writing_runbooks_needs_the_admins_permissions(team):
    # A member of the team outside the Responders group reads but writes nothing.
    reader = MembershipFactory(team=team, user__username="reader").user
    body = {"name": "Ours", "team": team.slug, "steps": STEPS}
    answer = api_client(reader).post("/api/v1/runbooks/", body, format="json")
    assert answer.status_code == 403
    assert not Runbook.objects.filter(name="Ours").exists()


def test_a_runbook_is_created_changed_and_deleted(editor, team, service):
    body = {
        "name": "Checkout down",
        "team": team.slug,
        "service": service.slug,
        "category": "site_down",
        "severity_at_least": "P1",
        "steps": STEPS,
    }
    created = editor.post("/api/v1/runbooks/", body, format="json")
    assert created.status_code == 201, created.json()
    runbook = created.json()
    assert runbook["attaches_to"] == (
        "team Platform, service Website, category Site down, severity P1 or more severe"
    )
    assert [s["position"] for s in runbook["steps"]] == [1, 2]
    assert runbook["steps"][1]["link"] == "https://status.example.com/"

    url = f"/api/v1/runbooks/{runbook['id']}/"
    changed = editor.patch(url, {"steps": [{"text": "Only this"}]}, format="json")
    assert [s["text"] for s in changed.json()["steps"]] == ["Only this"]
    assert changed.json()["severity_at_least"] == "P1"

    assert editor.delete(url).status_code == 204
    assert not Runbook.objects.filter(name="Checkout down").exists()


def test_shared_runbooks_are_changed_by_superusers_only(editor):
    shared = Runbook.objects.get(name="Bot offline")
    url = f"/api/v1/runbooks/{shared.pk}/"
    assert editor.patch(url, {"enabled": False}, format="json").status_code == 403
    body = {"name": "Everyone's", "team": None, "steps": STEPS}
    assert editor.post("/api/v1/runbooks/", body, format="json").status_code == 403
    assert Runbook.objects.get(pk=shared.pk).enabled


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": []}, "steps"),
        ({"severity_at_least": "P1", "severity_at_most": "P2"}, "severity_at_most"),
        ({"service": "not-ours"}, "service"),
        ({"name": "Taken"}, "name"),
        ({"steps": [{"text": "x", "phase": "dance"}]}, "steps"),
        ({"steps": [{"text": "x", "link": "javascript:alert(1)"}]}, "steps"),
    ],
)
def test_a_runbook_that_does_not_fit_together_is_refused(editor, team, change, field):
    runbook_create(name="Taken", team=team, steps=[{"text": "a"}])
    ServiceFactory(slug="not-ours")
    body = {"name": "New", "team": team.slug, "steps": STEPS, **change}
    answer = editor.post("/api/v1/runbooks/", body, format="json")
    assert answer.status_code == 400
    assert field in str(answer.json())
    assert not Runbook.objects.filter(name="New").exists()


def test_a_step_names_its_own_teams_contact(editor, team):
    ours = ExternalContact.objects.create(team=team, name="Hostco")
    theirs = ExternalContact.objects.create(
        team=MembershipFactory().team, name="Elsewhere"
    )
    body = {"name": "R", "team": team.slug, "steps": [{"text": "Call",
            "external_contact": ours.pk}]}  # fmt: skip
    created = editor.post("/api/v1/runbooks/", body, format="json")
    assert created.json()["steps"][0]["external_contact"]["name"] == "Hostco"

    body["name"] = "S"
    body["steps"][0]["external_contact"] = theirs.pk
    assert editor.post("/api/v1/runbooks/", body, format="json").status_code == 400


# --- External contacts ---------------------------------------------------------


def test_external_contacts_are_kept_per_team(editor, team, outsider):
    body = {
        "team": team.slug,
        "name": "Hostco",
        "kind": "hosting_provider",
        "emergency_line": "+1 555 0100",
        "account_reference": "ACME-42",
        "support_url": "https://support.hostco.example/",
        "hours": "24/7",
    }
    created = editor.post("/api/v1/external-contacts/", body, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/external-contacts/{created.json()['id']}/"

    assert editor.post("/api/v1/external-contacts/", body).status_code == 400
    changed = editor.patch(url, {"hours": "business hours"}, format="json")
    assert changed.json()["hours"] == "business hours"
    assert api_client(outsider).get(url).status_code == 404
    assert api_client(outsider).get("/api/v1/external-contacts/").json()["count"] == 0
    assert editor.delete(url).status_code == 204


def test_a_contact_cannot_be_added_to_another_team(editor, outsider):
    other = outsider.teams.get()
    body = {"team": other.slug, "name": "Sneaky"}
    assert editor.post("/api/v1/external-contacts/", body).status_code == 400


def test_the_schema_describes_the_runbook_endpoints(client):
    text = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/runbooks/",
        "/api/v1/runbooks/{id}/",
        "/api/v1/external-contacts/{id}/",
        "/api/v1/incidents/{public_id}/runbooks/",
        "/api/v1/incidents/{public_id}/runbook-steps/{id}/tick/",
        "/api/v1/incidents/{public_id}/runbook-steps/{id}/untick/",
        "/api/v1/incidents/{public_id}/runbook-steps/{id}/skip/",
        "/api/v1/incidents/{public_id}/runbook-steps/{id}/note/",
    ):
        assert f"{path}:" in text, path


def test_a_runbook_read_is_written_back_unchanged(editor, team):
    runbook_create(
        name="Round trip",
        team=team,
        steps=[{"text": "a"}, {"text": "b"}, {"text": "c"}],
    )
    read = editor.get("/api/v1/runbooks/", {"search": "Round trip"}).json()["results"][
        0
    ]
    steps = [
        {
            k: step[k]
            for k in ("position", "text", "commands", "link", "phase", "required")
        }
        for step in read["steps"]
    ]
    steps.reverse()  # positions, not the list's order, say which comes first
    body = {"name": read["name"], "team": read["team"], "steps": steps}

    written = editor.put(f"/api/v1/runbooks/{read['id']}/", body, format="json")

    assert written.status_code == 200, written.json()
    assert [s["text"] for s in written.json()["steps"]] == ["a", "b", "c"]


def test_runbooks_are_written_as_json_only(editor, team):
    body = {"name": "Form", "team": team.slug}
    answer = editor.post("/api/v1/runbooks/", body, format="multipart")
    assert answer.status_code == 415
