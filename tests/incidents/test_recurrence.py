"""Repeat incidents: linked by alert fingerprint, root-cause tag or by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from incidents.models import Incident, IncidentLink, PostIncidentReview
from incidents.services import incident_transition, integration_create
from incidents.services.recurrence import (
    incident_root_cause_tags_set,
    root_cause_tag_create,
)
from incidents.tasks import ingest_process_task
from incidents.timeline_kinds import REPEAT_LINKED
from tests.conftest import api_client, staff_client
from tests.factories import ServiceFactory, TeamFactory, declare, verify
from tests.incidents.ingest_helpers import post_json

MAPPING = {
    "title": "check.name",
    "severity": "check.level",
    "dedup_key": "check.id",
    "action": "state",
}


@pytest.fixture
def generic(service):
    return integration_create(
        name="Uptime checker",
        kind="generic",
        service=service,
        field_mapping=MAPPING,
        severity_mapping={"down": "P2"},
    )


def send(generic, body: dict) -> None:
    post_json("/ingest/generic/", body, HTTP_AUTHORIZATION=f"Bearer {generic[1]}")
    ingest_process_task(integration_id=generic[0].pk)


def alert(generic, check: str) -> Incident:
    send(generic, {"check": {"name": f"{check} down", "level": "down", "id": check}})
    return Incident.objects.order_by("-id").first()


def recovered(generic, incident: Incident) -> Incident:
    """The check recovers: its alert and incident resolve."""
    verify(incident)
    check = incident.alerts.get().dedup_key
    send(generic, {"check": {"id": check}, "state": "OK"})
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RESOLVED
    return incident


def resolved(incident: Incident) -> Incident:
    verify(incident)
    return incident_transition(incident=incident, to=Incident.Status.RESOLVED, by=None)


def test_an_incident_with_an_earlier_alerts_fingerprint_is_flagged_a_repeat(generic):
    first = recovered(generic, alert(generic, "home"))
    later = alert(generic, "home")

    link = IncidentLink.objects.get()
    assert (link.incident, link.repeats, link.reason) == (later, first, "fingerprint")
    event = later.timeline.get(kind=REPEAT_LINKED)
    assert event.message.startswith(f"Repeat of {first.public_id}")


def test_a_different_fingerprint_is_no_repeat(generic):
    recovered(generic, alert(generic, "home"))
    alert(generic, "checkout")

    assert not IncidentLink.objects.exists()


def test_the_look_back_ends_after_ninety_days_by_default(generic):
    with time_machine.travel(timezone.now() - timedelta(days=91)):
        recovered(generic, alert(generic, "home"))
    alert(generic, "home")

    assert not IncidentLink.objects.exists()


def test_the_look_back_is_a_setting(generic, settings):
    settings.VIGIL_RECURRENCE_LOOKBACK_DAYS = 200
    with time_machine.travel(timezone.now() - timedelta(days=150)):
        recovered(generic, alert(generic, "home"))
    alert(generic, "home")

    assert IncidentLink.objects.count() == 1


def test_a_repeated_p2_requires_a_review(generic):
    recovered(generic, alert(generic, "home"))
    again = recovered(generic, alert(generic, "home"))

    review = PostIncidentReview.objects.get(incident=again)
    assert review.reason.startswith("P2 repeat of INC-")
    assert "same alert fingerprint" in review.reason


def test_incidents_sharing_a_root_cause_tag_are_linked(service, responder):
    tag = root_cause_tag_create(team=service.team, name="Expired certificate")
    first = resolved(declare(service, "P2", title="TLS errors"))
    incident_root_cause_tags_set(incident=first, tags=[tag], by=responder)
    second = resolved(declare(service, "P2", title="API handshake fails"))
    assert not PostIncidentReview.objects.exists()

    incident_root_cause_tags_set(incident=second, tags=[tag], by=responder)

    link = IncidentLink.objects.get()
    assert (link.incident, link.repeats, link.reason) == (
        second,
        first,
        "root_cause_tag",
    )
    # Found a repeat after it resolved: the rule is applied again.
    assert PostIncidentReview.objects.get().incident == second


def test_tags_are_set_and_linked_by_hand_through_the_api(service, responder):
    api = api_client(responder)
    created = api.post(
        "/api/v1/root-cause-tags/", {"team": "platform", "name": "Disk full"}
    )
    first = declare(service, "P3")
    second = declare(service, "P3")

    tagged = api.post(
        f"/api/v1/incidents/{second.public_id}/root-cause-tags/",
        {"tags": [created.json()["id"]]},
        format="json",
    )
    linked = api.post(
        f"/api/v1/incidents/{second.public_id}/repeats/",
        {"repeats": first.public_id, "note": "same disk"},
        format="json",
    )
    again = api.post(
        f"/api/v1/incidents/{second.public_id}/repeats/",
        {"repeats": first.public_id},
        format="json",
    )
    backwards = api.post(
        f"/api/v1/incidents/{first.public_id}/repeats/",
        {"repeats": second.public_id},
        format="json",
    )
    listed = api.get(f"/api/v1/incidents/{second.public_id}/repeats/")

    assert created.status_code == 201, created.content
    assert created.json()["slug"] == "disk-full"
    assert tagged.status_code == 200
    assert linked.status_code == 201, linked.content
    assert again.status_code == 400
    assert backwards.status_code == 400
    assert [(x["repeats"], x["reason"]) for x in listed.json()] == [
        (first.public_id, "manual")
    ]


def test_another_teams_tag_or_incident_cannot_be_used(service, responder):
    other = ServiceFactory(team=TeamFactory(name="Bots", slug="bots"))
    foreign_tag = root_cause_tag_create(team=other.team, name="Bot token")
    foreign = declare(other, "P2")
    mine = declare(service, "P2")
    api = api_client(responder)

    tag = api.post(
        f"/api/v1/incidents/{mine.public_id}/root-cause-tags/",
        {"tags": [foreign_tag.pk]},
        format="json",
    )
    link = api.post(
        f"/api/v1/incidents/{mine.public_id}/repeats/",
        {"repeats": foreign.public_id},
        format="json",
    )
    listed = api.get("/api/v1/root-cause-tags/")

    assert tag.status_code == 400
    assert link.status_code == 400
    assert listed.json()["results"] == []
    assert not IncidentLink.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{"tags": "x"}, {"tags": [None]}, {"tags": [10**12]}, {"tags": []}, []],
)
def test_garbage_tags_are_a_400_or_a_harmless_clear(service, responder, body):
    incident = declare(service, "P2")

    response = api_client(responder).post(
        f"/api/v1/incidents/{incident.public_id}/root-cause-tags/", body, format="json"
    )

    assert response.status_code in (200, 400)
    assert response.status_code == (200 if body == {"tags": []} else 400)


def test_the_incident_page_shows_what_it_repeats_and_its_review(generic, responder):
    first = recovered(generic, alert(generic, "home"))
    later = recovered(generic, alert(generic, "home"))

    page = staff_client(responder).get(f"/admin/incidents/incident/{later.pk}/change/")

    html = page.content.decode()
    assert "Repeat of" in html
    assert "same alert fingerprint (dedup key)" in html
    assert first.public_id in html
    assert f"/admin/incidents/postincidentreview/{later.review.pk}/change/" in html
