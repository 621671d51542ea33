"""When a post-incident review is required, its states, waiving and closing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.exceptions import ReviewError, ReviewStateError, WaiveRefusedError
from incidents.models import (
    Incident,
    IncidentRole,
    PostIncidentReview,
    SeverityLevel,
    TimelineEvent,
)
from incidents.services import incident_assign_role, incident_transition
from incidents.services.reviews import review_advance, review_waive
from incidents.timeline_kinds import PIR_DECIDED, PIR_STATE_CHANGED, PIR_WAIVED
from tests.conftest import api_client, staff_client
from tests.factories import MembershipFactory, declare, verify

S = Incident.Status
State = PostIncidentReview.State


def resolve(incident: Incident, by: User | None = None) -> Incident:
    verify(incident)
    return incident_transition(incident=incident, to=S.RESOLVED, by=by)


def decision(incident: Incident) -> TimelineEvent:
    return incident.timeline.get(kind=PIR_DECIDED)


@pytest.mark.parametrize("code", ["P0", "P1"])
def test_every_p0_and_p1_requires_a_review_when_it_resolves(service, code):
    incident = resolve(declare(service, code))

    assert incident.review.state == State.REQUIRED
    assert decision(incident).message == (
        f"PIR required: every {code} incident needs a PIR"
    )
    assert decision(incident).data["required"] is True


def test_a_security_incident_of_any_severity_requires_a_review(service):
    incident = resolve(declare(service, "P3", category="security"))

    assert incident.review.reason == "every security incident needs a PIR"


def test_a_drill_never_requires_a_review(service):
    incident = resolve(declare(service, "P0", is_drill=True, category="security"))

    assert not PostIncidentReview.objects.filter(incident=incident).exists()
    assert "a drill never needs a PIR" in decision(incident).message
    assert decision(incident).data["required"] is False


def test_a_p2_that_repeats_nothing_needs_no_review_and_says_why(service):
    incident = resolve(declare(service, "P2"))

    assert not PostIncidentReview.objects.filter(incident=incident).exists()
    assert decision(incident).message.startswith(
        "No PIR needed: P2 needs a PIR only when its root cause repeats"
    )


def test_the_decision_follows_the_severity_matrix(service):
    SeverityLevel.objects.filter(code="P3").update(pir_required=True)

    incident = resolve(declare(service, "P3"))

    assert incident.review.reason == "every P3 incident needs a PIR"


def test_deadlines_count_from_the_resolution(service, responder):
    incident = declare(service, "P1", by=responder)
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        incident = resolve(incident, responder)
        review = incident.review

    assert review.resolved_at == incident.resolved_at
    assert review.initial_due_at == incident.resolved_at + timedelta(hours=24)
    assert review.meeting_due_at == incident.resolved_at + timedelta(days=7)
    assert review.owner == responder  # the incident commander by default


def test_a_review_moves_forward_one_step_at_a_time(service, responder):
    review = resolve(declare(service, "P1")).review

    with pytest.raises(ReviewStateError, match="drafting next"):
        review_advance(review=review, to=State.PUBLISHED, by=responder)
    for to in (State.DRAFTING, State.INITIAL_PUBLISHED):
        review = review_advance(review=review, to=to, by=responder)
    with pytest.raises(ReviewError, match="who attended"):
        review_advance(review=review, to=State.MEETING_HELD, by=responder)
    review = review_advance(
        review=review, to=State.MEETING_HELD, by=responder, attendees=[responder]
    )
    review = review_advance(review=review, to=State.PUBLISHED, by=responder)

    assert review.state == State.PUBLISHED
    assert list(review.attendees.all()) == [responder]
    assert review.initial_published_at is not None
    assert review.meeting_held_at is not None
    changes = review.incident.timeline.filter(kind=PIR_STATE_CHANGED)
    assert [e.data["to"] for e in changes] == [
        "drafting",
        "initial_published",
        "meeting_held",
        "published",
    ]


def test_only_the_commander_or_a_team_lead_may_waive_and_only_with_a_reason(
    service, responder, team_lead
):
    review = resolve(declare(service, "P1")).review

    with pytest.raises(WaiveRefusedError):
        review_waive(review=review, reason="Duplicate of INC-1", by=responder)
    with pytest.raises(ReviewError, match="needs a reason"):
        review_waive(review=review, reason="  ", by=team_lead)
    review = review_waive(review=review, reason="Duplicate of INC-1", by=team_lead)

    assert review.state == State.WAIVED
    waived = review.incident.timeline.get(kind=PIR_WAIVED)
    assert waived.message == "PIR waived — Duplicate of INC-1"
    assert waived.actor == team_lead


def test_the_incident_commander_may_waive(service, responder):
    incident = declare(service, "P1")
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )
    review = resolve(incident).review

    assert review_waive(review=review, reason="Vendor outage", by=responder).state == (
        State.WAIVED
    )


def test_the_api_refuses_to_close_before_the_review_is_published_or_waived(
    service, responder, team_lead
):
    incident = resolve(declare(service, "P1"))
    url = f"/api/v1/incidents/{incident.public_id}/transition/"

    refused = api_client(responder).post(url, {"status": "closed"}, format="json")
    review_waive(review=incident.review, reason="Known vendor bug", by=team_lead)
    closed = api_client(responder).post(url, {"status": "closed"}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "review_state"
    assert "published or waived" in refused.json()["detail"]
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"


def test_the_admin_refuses_to_close_before_the_review_is_done(service, responder):
    incident = resolve(declare(service, "P1"))
    client = staff_client(responder)

    response = client.post(
        "/admin/incidents/incident/",
        {"action": "close", "_selected_action": [incident.pk]},
        follow=True,
    )

    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    assert "closes once its PIR is published or waived" in response.content.decode()


def test_an_incident_without_a_review_closes(service):
    incident = resolve(declare(service, "P2"))

    assert incident_transition(incident=incident, to=S.CLOSED, by=None).status == (
        S.CLOSED
    )


def test_the_review_is_read_and_advanced_through_the_api(service, responder):
    incident = resolve(declare(service, "P1"))
    api = api_client(responder)
    base = f"/api/v1/incidents/{incident.public_id}/review/"

    edited = api.patch(base, {"went_well": "- Rollback took 4 min"}, format="json")
    advanced = api.post(base + "advance/", {"state": "initial_published"})
    read = api.get(base)

    assert edited.json()["state"] == "drafting"
    assert advanced.status_code == 200, advanced.content
    body = read.json()
    assert body["state"] == "initial_published"
    assert body["went_well"] == "- Rollback took 4 min"
    after = {item["key"]: item for item in body["after_incident"]}
    assert after["initial_report"]["done"] is True
    assert after["initial_report"]["proved"] is True
    assert after["pir_conducted"]["done"] is False


def test_hand_ticked_after_incident_items_and_proved_ones(service, responder):
    incident = resolve(declare(service, "P1"))
    api = api_client(responder)
    base = f"/api/v1/incidents/{incident.public_id}/review/after-incident/"

    ticked = api.post(base + "runbooks_updated/tick/")
    proved = api.post(base + "initial_report/tick/")
    unknown = api.post(base + "nonsense/tick/")

    item = {i["key"]: i for i in ticked.json()["after_incident"]}["runbooks_updated"]
    assert (item["done"], item["by"], item["proved"]) == (True, "responder", False)
    assert proved.status_code == 409
    assert unknown.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"state": "waived"},
        {"state": 7},
        {"state": "meeting_held", "attendees": ["nobody-here"]},
        {"state": "drafting", "extra": 1},
        ["drafting"],
    ],
)
def test_garbage_is_a_400_that_changes_nothing(service, responder, body):
    incident = resolve(declare(service, "P1"))

    response = api_client(responder).post(
        f"/api/v1/incidents/{incident.public_id}/review/advance/", body, format="json"
    )

    assert response.status_code == 400, response.content
    assert PostIncidentReview.objects.get().state == State.REQUIRED


def test_an_incident_without_a_review_answers_404(service, responder):
    incident = resolve(declare(service, "P2"))

    response = api_client(responder).get(
        f"/api/v1/incidents/{incident.public_id}/review/"
    )

    assert response.status_code == 404


def test_an_outsider_cannot_name_another_teams_member_as_owner(service, responder):
    incident = resolve(declare(service, "P1"))
    stranger = MembershipFactory(user__username="stranger").user

    response = api_client(responder).patch(
        f"/api/v1/incidents/{incident.public_id}/review/",
        {"owner": stranger.username},
        format="json",
    )

    assert response.status_code == 400
    assert PostIncidentReview.objects.get().owner is None
