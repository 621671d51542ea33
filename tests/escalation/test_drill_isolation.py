"""A drill started from its scenario stays among drills: never on the status
page, never to public subscribers, never in production metrics, never a
PIR; and its pages and messages say [DRILL]."""

from __future__ import annotations

import pytest
from django.utils import timezone

from escalation.services import drill_start, drills_sweep
from incidents.models import Incident, PostIncidentReview, StatusUpdate
from incidents.services import incident_transition, incident_update
from incidents.services.reviews import review_requirement
from incidents.services.status_updates import status_update_post
from notifications.models import Delivery, PublicSubscriber
from notifications.services.messages import message_render
from notifications.statuspage.selectors import public_incidents
from tests.escalation.drills import process, scenario
from tests.factories import verify, webhook_channels


@pytest.fixture
def drill_incident(sop_policy, team, service, responder) -> Incident:
    """A site-down drill (P0, its service public, with a channel), declared
    through ingest, made public by hand and given a public update."""
    service.is_public = True
    service.save()
    webhook_channels(service, lambda path: f"https://chat.example.com{path}", 1)
    PublicSubscriber.objects.create(
        kind="email", address="fan@example.org", confirmed_at=timezone.now()
    )
    drill = process(drill_start(scenario=scenario("site-down"), team=team))
    drills_sweep()
    drill.refresh_from_db()
    incident = incident_update(
        incident=drill.incident, by=responder, is_public=True, public_title="Down"
    )
    status_update_post(
        incident=incident,
        actor=responder,
        text="Practising a failover",
        audience=StatusUpdate.Audience.PUBLIC,
    )
    return incident


def test_a_drill_is_never_on_the_status_page(drill_incident):
    assert drill_incident.is_public
    assert drill_incident not in public_incidents()


def test_a_drill_is_never_sent_to_public_subscribers(drill_incident):
    assert not Delivery.objects.filter(subscriber__isnull=False).exists()


def test_a_drill_counts_only_among_drills_in_metrics(drill_incident, api):
    url = "/api/v1/metrics/response-times/"
    production = api.get(url).json()["results"]
    drills = api.get(url, {"drills": "true"}).json()["results"]
    assert sum(row["incidents"] for row in production) == 0
    assert sum(row["incidents"] for row in drills) == 1


def test_a_drill_never_needs_a_pir(drill_incident, responder):
    needed, reason = review_requirement(incident=drill_incident)
    assert (needed, "drill" in reason) == (False, True)
    incident_transition(incident=verify(drill_incident), to="resolved", by=responder)
    assert not PostIncidentReview.objects.filter(
        incident=drill_incident, state=PostIncidentReview.State.REQUIRED
    ).exists()


def test_every_page_and_message_of_a_drill_is_written_as_a_drill(drill_incident):
    deliveries = list(Delivery.objects.filter(incident=drill_incident))
    kinds = {d.message_kind for d in deliveries}
    assert {"page", "initial", "update"} <= kinds, kinds
    for delivery in deliveries:
        message = message_render(delivery, now=timezone.now())
        assert message.is_drill
        # Subject, the first line of the body and of a chat, the SMS text.
        for text in (message.subject, message.text, message.chat, message.short):
            assert text.startswith("[DRILL] "), (delivery.message_kind, text)
