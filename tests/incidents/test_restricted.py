"""A restricted incident: its team sees that it exists, only its named
responders (and the team's leads) see what it is about."""

from __future__ import annotations

import dataclasses

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.models import Alert, Incident, IncidentRole
from incidents.services import (
    incident_assign_role,
    incident_transition,
    user_report_create,
)
from incidents.services.security import incident_set_visibility
from incidents.tasks import ingest_process_task
from incidents.timeline_kinds import VISIBILITY_CHANGED
from notifications.models import Channel, Delivery, Kind
from notifications.services import page_user
from notifications.services.messages import message_render
from tests.conftest import api_client, in_responders, staff_client
from tests.factories import ContactMethodFactory, MembershipFactory, declare
from tests.incidents.admin_forms import admin_form

SECRET = "Web shell on the billing host"


@pytest.fixture
def teammate(team) -> User:
    """A responder of the same team who is not named on the incident."""
    return in_responders(MembershipFactory(team=team, user__username="teammate").user)


@pytest.fixture
def restricted(service, responder) -> Incident:
    incident = declare(
        service,
        "P1",
        title=SECRET,
        category="security",
        summary="Attacker in billing",
        by=responder,
    )
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )
    return incident_set_visibility(incident=incident, restricted=True, by=responder)


def url(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.public_id}/{suffix}"


# --- Restricting -----------------------------------------------------------


def test_the_commander_restricts_and_names_the_role_holders(
    api, service, responder, teammate
):
    incident = declare(service, "P1", title=SECRET, category="security", by=responder)
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )

    response = api.post(
        url(incident, "visibility/"),
        {"restricted": True, "reason": "possible breach"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "public_id": incident.public_id,
        "restricted": True,
        "named_responders": ["responder"],
    }
    event = incident.timeline.get(kind=VISIBILITY_CHANGED)
    assert event.data["restricted"] is True
    assert "possible breach" in event.message


def test_a_plain_member_may_not_restrict(service, responder, teammate):
    incident = declare(service, "P1", category="security", by=responder)

    response = api_client(teammate).post(
        url(incident, "visibility/"), {"restricted": True}, format="json"
    )

    assert response.status_code == 403
    incident.refresh_from_db()
    assert not incident.restricted


def test_a_lead_names_responders_who_then_see_the_details(
    restricted, team_lead, teammate
):
    response = api_client(team_lead).post(
        url(restricted, "visibility/"),
        {"restricted": True, "responders": ["teammate"]},
        format="json",
    )

    assert response.status_code == 200
    assert sorted(response.json()["named_responders"]) == [
        "lead",
        "responder",
        "teammate",
    ]
    body = api_client(teammate).get(url(restricted)).json()
    assert body["title"] == SECRET


def test_a_new_role_holder_is_named(restricted, responder, teammate):
    incident_assign_role(
        incident=restricted,
        role=IncidentRole.SCRIBE,
        user=teammate,
        by=responder,
    )

    assert api_client(teammate).get(url(restricted)).json()["title"] == SECRET


def test_only_members_of_the_team_can_be_named(api, restricted, outsider):
    response = api.post(
        url(restricted, "visibility/"),
        {"restricted": True, "responders": [outsider.username]},
        format="json",
    )

    assert response.status_code == 400
    assert not restricted.named_responders.filter(pk=outsider.pk).exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"restricted": "maybe"}, {"restricted": True, "responders": "x"}, [1]],
)
def test_garbage_visibility_gets_a_400(api, restricted, body):
    assert (
        api.post(url(restricted, "visibility/"), body, format="json").status_code == 400
    )


def test_opening_it_again_shows_the_details_to_the_team(api, restricted, teammate):
    api.post(url(restricted, "visibility/"), {"restricted": False}, format="json")

    assert api_client(teammate).get(url(restricted)).json()["title"] == SECRET


def test_a_security_incident_offers_restricting_in_the_admin_form(service, responder):
    incident = declare(service, "P1", category="security", by=responder)
    page = staff_client(responder).get(
        f"/admin/incidents/incident/{incident.pk}/change/"
    )

    assert 'name="restricted"' in page.content.decode()


# --- What the rest of the team sees ------------------------------------------


def test_the_team_lists_the_incident_as_id_severity_and_status(restricted, teammate):
    rows = api_client(teammate).get("/api/v1/incidents/").json()["results"]

    (row,) = [r for r in rows if r["public_id"] == restricted.public_id]
    assert row["details_hidden"] is True
    assert row["restricted"] is True
    assert row["severity"] == "P1"
    assert row["status"] == "triggered"
    assert row["title"] == "Restricted incident"
    assert row["category"] is None
    assert row["service"] is None
    assert row["roles"] == []
    assert row["summary"] == ""
    assert row["pir_required_reasons"] == []
    assert SECRET not in str(row)


@pytest.mark.parametrize(
    "query", [{"search": "billing"}, {"search": "Restricted"}, {"service": "website"}]
)
def test_searches_on_details_do_not_find_it(restricted, teammate, query):
    rows = api_client(teammate).get("/api/v1/incidents/", query).json()["results"]

    assert restricted.public_id not in [r["public_id"] for r in rows]


def test_filters_on_what_the_team_sees_still_find_it(restricted, teammate):
    rows = (
        api_client(teammate)
        .get("/api/v1/incidents/", {"status": "triggered", "severity": "P1"})
        .json()["results"]
    )

    assert restricted.public_id in [r["public_id"] for r in rows]


def test_named_responders_and_leads_see_everything(restricted, responder, team_lead):
    for user in (responder, team_lead):
        body = api_client(user).get(url(restricted)).json()
        assert body["title"] == SECRET
        assert body["details_hidden"] is False


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "timeline/", {}),
        ("get", "timeline/export/", {}),
        ("get", "runbooks/", {}),
        ("get", "runbook-steps/", {}),
        ("get", "evidence/", {}),
        ("get", "verification/", {}),
        ("get", "checklist/", {}),
        ("get", "visibility/", {}),
        ("patch", "", {"title": "mine now"}),
        ("post", "acknowledge/", {}),
        ("post", "note/", {"text": "hello"}),
        ("post", "transition/", {"status": "acknowledged"}),
        ("post", "severity/", {"severity": "P0"}),
        ("post", "resolve/", {}),
        ("post", "visibility/", {"restricted": False}),
        ("post", "evidence/", {"what": "x"}),
    ],
)
def test_details_and_actions_are_not_found_for_the_rest_of_the_team(
    restricted, teammate, method, suffix, body
):
    before = restricted.timeline.count()

    response = getattr(api_client(teammate), method)(
        url(restricted, suffix), body, format="json"
    )

    assert response.status_code == 404, response.content
    assert SECRET not in response.content.decode()
    assert restricted.timeline.count() == before


def test_alerts_and_deliveries_of_it_are_hidden_from_the_rest_of_the_team(
    service, responder, teammate, restricted
):
    ContactMethodFactory(user=teammate)
    page_user(incident=restricted, user=teammate, event_key="x")
    event = user_report_create(
        service=service, title="Odd logins", description="", severity="", by=responder
    )
    ingest_process_task(event_id=event.pk)
    Alert.objects.update(incident=restricted)
    client = api_client(teammate)

    alerts = client.get("/api/v1/alerts/").json()["results"]
    deliveries = client.get("/api/v1/deliveries/").json()["results"]

    assert alerts == []
    # Their own page stays theirs; nobody else's message about it shows.
    assert {d["user"] for d in deliveries} <= {"teammate"}
    assert SECRET not in str(deliveries)


def test_a_superuser_lists_the_alerts_and_events_of_every_incident(
    service, responder, restricted, django_user_model
):
    admin = django_user_model.objects.create_superuser("root", "root@example.com")
    event = user_report_create(
        service=service, title="Odd logins", description="", severity="", by=responder
    )
    ingest_process_task(event_id=event.pk)
    client = api_client(admin)

    alerts = client.get("/api/v1/alerts/").json()["results"]
    events = client.get("/api/v1/alert-events/").json()["results"]

    assert [a["incident"] for a in alerts] == [Alert.objects.get().incident.public_id]
    assert [e["id"] for e in events] == [event.pk]


# --- Admin ------------------------------------------------------------------


def test_the_admin_lists_it_as_restricted_without_its_details(restricted, teammate):
    client = staff_client(teammate)

    page = client.get("/admin/incidents/incident/").content.decode()
    change = client.get(f"/admin/incidents/incident/{restricted.pk}/change/")
    export = client.get(f"/admin/incidents/incident/{restricted.pk}/timeline.md")

    assert restricted.public_id in page
    assert "Restricted incidents of your teams" in page
    assert SECRET not in page
    assert change.status_code == 302  # "does not exist", as another team's
    assert export.status_code == 404


def test_a_plain_member_cannot_restrict_in_the_admin(service, responder):
    incident = declare(service, "P1", category="security", by=responder)
    client = staff_client(responder)
    data = admin_form(client, incident, restricted="on")

    response = client.post(f"/admin/incidents/incident/{incident.pk}/change/", data)

    assert response.status_code == 200
    assert "restricted" in response.context["adminform"].form.errors
    incident.refresh_from_db()
    assert not incident.restricted


# --- Messages ---------------------------------------------------------------


def rendered(delivery: Delivery) -> str:
    return str(dataclasses.asdict(message_render(delivery, now=timezone.now())))


def test_channel_messages_of_it_carry_its_id_and_severity_only(
    service, responder, restricted
):
    Channel.objects.create(
        name="#ops", kind=Kind.SLACK, address="https://example.com/c", service=service
    )
    incident_transition(
        incident=restricted,
        to=Incident.Status.IDENTIFIED,
        by=responder,
        reason="billing host compromised through the upload form",
    )

    update = Delivery.objects.get(incident=restricted, message_kind="update")
    text = rendered(update)

    assert restricted.public_id in text
    assert "P1" in text
    assert SECRET not in text
    assert "upload form" not in text
    assert "Website" not in text


def test_pages_to_named_responders_carry_the_details(responder, teammate, restricted):
    for user in (responder, teammate):
        ContactMethodFactory(user=user)
    named = page_user(incident=restricted, user=responder, event_key="p")
    other = page_user(incident=restricted, user=teammate, event_key="p")

    assert named
    assert other
    assert SECRET in rendered(named[0])
    assert SECRET not in rendered(other[0])


def test_the_admin_sets_exactly_the_named_responders(
    restricted, responder, team_lead, teammate
):
    restricted.named_responders.add(teammate)
    client = staff_client(team_lead)
    data = admin_form(
        client, restricted, restricted="on", named_responders=[responder.pk]
    )

    response = client.post(f"/admin/incidents/incident/{restricted.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    names = set(restricted.named_responders.values_list("username", flat=True))
    assert names == {"responder", "lead"}
    event = restricted.timeline.filter(kind=VISIBILITY_CHANGED).last()
    assert event.via == "admin"
    assert event.data["removed"] == ["teammate"]
    assert api_client(teammate).get(url(restricted)).json()["details_hidden"]
