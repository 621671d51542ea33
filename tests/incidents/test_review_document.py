"""The PIR document: pre-filled from the incident, edited as Markdown
sections, exported as the SOP's report, blameless by default."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User

from incidents.models import Incident, IncidentRole, PostIncidentReview, Service
from incidents.review_document import review_document
from incidents.services import (
    incident_add_note,
    incident_assign_role,
    incident_transition,
    incident_update,
)
from incidents.services.action_items import action_item_create, action_item_update
from incidents.services.reviews import review_advance, review_update
from tests.conftest import api_client, staff_client
from tests.factories import MembershipFactory, declare, verify

GOLDEN = Path(__file__).parent / "golden" / "pir-export.md"
DETECTED = datetime(2026, 11, 24, 14, 7, tzinfo=UTC)
M = timedelta(minutes=1)
State = PostIncidentReview.State


def person(service: Service, username: str, first: str, last: str) -> User:
    return MembershipFactory(
        team=service.team,
        user__username=username,
        user__first_name=first,
        user__last_name=last,
    ).user


def at(minutes: float) -> time_machine.travel:
    return time_machine.travel(DETECTED + minutes * M, tick=False)


@pytest.fixture
def reviewed(service: Service) -> PostIncidentReview:
    """A P1 that went through its whole review, step by step."""
    dana = person(service, "dana", "Dana", "Reyes")
    sam = person(service, "sam", "Sam", "Okafor")
    with at(0):
        incident = declare(
            service,
            "P1",
            title="Checkout returns 500",
            summary="Checkout answered 500 after the 14:00 deploy.",
            by=dana,
            started_at=DETECTED - 5 * M,
            users_affected=1200,
            impact="Customers could not pay",
        )
    with at(3):
        incident_transition(
            incident=incident, to=Incident.Status.INVESTIGATING, by=dana
        )
    with at(4):
        incident_assign_role(
            incident=incident,
            role=IncidentRole.INCIDENT_COMMANDER,
            user=dana,
            by=dana,
        )
    with at(10):
        incident_add_note(
            incident=incident,
            text="Roll back the deploy",
            by=dana,
            note_kind="decision",
        )
    with at(20):
        incident_update(
            incident=incident, by=sam, root_cause="A migration locked the orders table."
        )
        verify(incident, by=sam)
    with at(30):
        incident_transition(incident=incident, to=Incident.Status.RESOLVED, by=dana)
    review = PostIncidentReview.objects.get()
    with at(60):
        review_update(
            review=review,
            by=dana,
            sections={
                "went_well": "- Rollback took 4 minutes",
                "needs_improvement": "- Migrations ran without a lock timeout",
                "prevention": "Every migration runs with a lock timeout.",
                "lessons_learned": "- Deploys and migrations go separately",
            },
        )
        review_advance(review=review, to=State.INITIAL_PUBLISHED, by=dana)
        action_item_create(
            incident=incident,
            title="Add a lock timeout to migrations",
            owner=sam,
            due_date=date(2026, 12, 1),
            by=dana,
            ticket_url="https://tracker.example.com/OPS-12",
        )
        done = action_item_create(
            incident=incident, title="Alert on lock waits", owner=dana,
            due_date=date(2026, 11, 28), by=dana,
        )  # fmt: skip
        skipped = action_item_create(
            incident=incident, title="Rewrite the ORM", owner=sam,
            due_date=date(2026, 12, 24), by=dana,
        )  # fmt: skip
        action_item_update(item=done, by=dana, status="done")
        action_item_update(
            item=skipped, by=dana, status="wont_do", wont_do_reason="Out of scope"
        )
    with time_machine.travel(datetime(2026, 11, 27, 10, 0, tzinfo=UTC), tick=False):
        review_advance(
            review=review, to=State.MEETING_HELD, by=dana, attendees=[dana, sam]
        )
        review_advance(review=review, to=State.PUBLISHED, by=dana)
    return PostIncidentReview.objects.get()


def test_the_export_is_the_sops_report(reviewed):
    assert review_document(review=reviewed) == GOLDEN.read_text()


def test_the_export_is_downloaded_through_the_api_and_the_admin(reviewed, service):
    dana = User.objects.get(username="dana")
    public_id = reviewed.incident.public_id

    api = api_client(dana).get(f"/api/v1/incidents/{public_id}/review/export/")
    admin = staff_client(dana).get(
        f"/admin/incidents/postincidentreview/{reviewed.pk}/pir.md"
    )

    for response in (api, admin):
        assert response.status_code == 200
        assert response["Content-Type"] == "text/markdown; charset=utf-8"
        assert f"{public_id}-pir.md" in response["Content-Disposition"]
        assert response.content.decode() == GOLDEN.read_text()


def test_a_new_review_is_prefilled_from_the_incident(reviewed):
    assert reviewed.summary == "Checkout answered 500 after the 14:00 deploy."
    assert reviewed.root_cause == "A migration locked the orders table."
    assert "Key decision: Roll back the deploy (dana)" in reviewed.timeline
    assert reviewed.timeline.endswith("- Verification: 6 of 6 items checked")
    assert "- Users affected: 1200" in reviewed.impact
    assert "- Duration: 35 min" in reviewed.impact


def test_a_root_cause_naming_a_teammate_gets_a_blameless_hint(service, responder):
    person(service, "jordan", "Jordan", "Lee")
    incident = declare(service, "P1")
    verify(incident)
    incident_transition(incident=incident, to=Incident.Status.RESOLVED, by=None)
    api = api_client(responder)
    url = f"/api/v1/incidents/{incident.public_id}/review/"

    blamed = api.patch(url, {"root_cause": "Jordan ran the wrong script"})
    neutral = api.patch(url, {"root_cause": "The script had no dry-run mode"})

    (hint,) = blamed.json()["blameless_hints"]
    assert "names 'Jordan' (Jordan Lee)" in hint
    assert neutral.json()["blameless_hints"] == []


def test_the_admin_edits_sections_and_warns_of_blame(reviewed, service):
    dana = User.objects.get(username="dana")
    review = reviewed
    PostIncidentReview.objects.filter(pk=review.pk).update(state=State.DRAFTING)
    client = staff_client(dana)

    response = client.post(
        f"/admin/incidents/postincidentreview/{review.pk}/change/",
        {
            "owner": dana.pk,
            "summary": review.summary,
            "timeline": review.timeline,
            "impact": review.impact,
            "root_cause": "Sam forgot the lock timeout.",
            "went_well": review.went_well,
            "needs_improvement": review.needs_improvement,
            "prevention": review.prevention,
            "lessons_learned": review.lessons_learned,
            "schedule_meeting_at_0": "",
            "schedule_meeting_at_1": "",
            "waive_reason": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "reviews are blameless" in response.content.decode()
    review.refresh_from_db()
    assert review.root_cause == "Sam forgot the lock timeout."
