"""Deadlines of a post-incident review: reminders, escalation, invitations.

The clock is frozen at each moment a sweep runs; each reminder is a claim
row and an e-mail delivery, and the same moment swept again (or by racing
sweeps) sends nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from icalendar import Calendar

from incidents.models import (
    Incident,
    IncidentRole,
    PostIncidentReview,
    ReviewReminder,
    Service,
    TeamMembership,
)
from incidents.services import incident_assign_role, incident_transition
from incidents.services.review_notices import (
    review_meeting_schedule,
    review_reminders_send,
)
from incidents.services.reviews import review_advance, review_update
from incidents.timeline_kinds import PIR_REMINDED
from notifications.models import Delivery
from notifications.services import deliveries_send
from tests.concurrency import in_threads
from tests.conftest import api_client, in_responders
from tests.factories import ContactMethodFactory, MembershipFactory, declare, verify

State = PostIncidentReview.State
RESOLVED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
H = timedelta(hours=1)


@dataclass
class World:
    review: PostIncidentReview
    commander: User
    lead: User
    manager: User

    def sent_to(self) -> list[tuple[str, str]]:
        """(username, subject) of every reminder written, in order."""
        rows = Delivery.objects.filter(purpose="follow_up").order_by("id")
        return [(d.user.username, d.extra["notice"]["subject"]) for d in rows]


def member(service: Service, name: str, role: str) -> User:
    user = MembershipFactory(team=service.team, user__username=name, role=role).user
    ContactMethodFactory(user=user, address=f"{name}@example.com")
    return user


@pytest.fixture
def world(service: Service) -> World:
    commander = member(service, "ic", TeamMembership.Role.MEMBER)
    lead = member(service, "lead", TeamMembership.Role.LEAD)
    manager = member(service, "boss", TeamMembership.Role.MANAGER)
    with time_machine.travel(RESOLVED - 2 * H, tick=False):
        incident = declare(service, "P1", by=commander)
        incident_assign_role(
            incident=incident,
            role=IncidentRole.INCIDENT_COMMANDER,
            user=commander,
            by=commander,
        )
        verify(incident)
    with time_machine.travel(RESOLVED, tick=False):
        incident_transition(incident=incident, to=Incident.Status.RESOLVED, by=lead)
    return World(PostIncidentReview.objects.get(), commander, lead, manager)


def sweep_at(when: datetime) -> int:
    with time_machine.travel(when, tick=False):
        return review_reminders_send()


def test_nothing_is_sent_before_the_first_reminder_is_due(world):
    assert sweep_at(RESOLVED + 19 * H + timedelta(minutes=59)) == 0
    assert world.sent_to() == []


def test_the_owner_is_reminded_before_and_at_the_initial_report_deadline(world):
    assert sweep_at(RESOLVED + 20 * H) == 1
    assert sweep_at(RESOLVED + 20 * H + timedelta(minutes=1)) == 0
    assert sweep_at(RESOLVED + 24 * H) == 1

    assert world.sent_to() == [
        ("ic", f"PIR of {world.review.incident.public_id}: initial report due in 4 h"),
        ("ic", f"PIR of {world.review.incident.public_id}: initial report due now"),
    ]


def test_an_overdue_report_goes_to_the_team_lead_then_the_manager(world):
    for hours in (20, 24, 48, 72, 73):
        sweep_at(RESOLVED + hours * H)

    recipients = [name for name, _ in world.sent_to()]
    assert recipients == ["ic", "ic", "lead", "boss"]
    assert world.sent_to()[2][1].endswith("initial report overdue by 24 h")
    stages = ReviewReminder.objects.filter(deadline="initial_report")
    assert sorted(stages.values_list("stage", flat=True)) == [
        "before",
        "due",
        "lead",
        "manager",
    ]


def test_a_sweep_that_finds_several_stages_due_sends_only_the_latest(world):
    assert sweep_at(RESOLVED + 49 * H) == 1

    assert [name for name, _ in world.sent_to()] == ["lead"]
    skipped = ReviewReminder.objects.filter(sent=False)
    assert sorted(skipped.values_list("stage", flat=True)) == ["before", "due"]


def test_publishing_the_initial_report_stops_its_reminders(world):
    sweep_at(RESOLVED + 20 * H)
    review_update(review=world.review, by=world.commander, sections={"summary": "x"})
    review_advance(review=world.review, to=State.INITIAL_PUBLISHED, by=world.commander)

    assert sweep_at(RESOLVED + 48 * H) == 0
    assert len(world.sent_to()) == 1


def test_the_review_meeting_deadline_is_seven_days_after_resolution(world):
    review_update(review=world.review, by=world.commander, sections={"summary": "x"})
    review_advance(review=world.review, to=State.INITIAL_PUBLISHED, by=world.commander)

    assert sweep_at(RESOLVED + 7 * 24 * H - 5 * H) == 0
    assert sweep_at(RESOLVED + 7 * 24 * H - 4 * H) == 1
    assert sweep_at(RESOLVED + 7 * 24 * H) == 1
    assert sweep_at(RESOLVED + 8 * 24 * H) == 1

    subjects = [subject for _, subject in world.sent_to()]
    assert [s.split(": ", 1)[1] for s in subjects] == [
        "review meeting due in 4 h",
        "review meeting due now",
        "review meeting overdue by 24 h",
    ]
    assert [name for name, _ in world.sent_to()] == ["ic", "ic", "lead"]


def test_a_reassigned_owner_is_the_one_reminded(world, service):
    other = member(service, "deputy", TeamMembership.Role.MEMBER)
    review_update(review=world.review, by=world.lead, owner=other)

    sweep_at(RESOLVED + 20 * H)

    assert [name for name, _ in world.sent_to()] == ["deputy"]


def test_each_reminder_is_on_the_timeline(world):
    sweep_at(RESOLVED + 24 * H)

    event = world.review.incident.timeline.get(kind=PIR_REMINDED)
    assert event.message == (
        "PIR initial report due now (reminder at the deadline): ic"
    )
    assert event.data["stage"] == "due"


def test_a_recipient_without_a_verified_email_is_recorded(world):
    world.manager.contact_methods.all().delete()

    sweep_at(RESOLVED + 72 * H)

    event = world.review.incident.timeline.get(kind=PIR_REMINDED)
    assert event.data["unreachable"] == ["boss"]
    assert world.sent_to() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_sweeps_remind_once_per_stage(world):
    def sweep(n: int) -> None:
        sweep_at(RESOLVED + 24 * H)

    errors = in_threads(4, sweep)

    assert errors == []
    assert [name for name, _ in world.sent_to()] == ["ic"]
    assert ReviewReminder.objects.filter(sent=True).count() == 1


def test_scheduling_the_meeting_mails_an_invitation_to_the_responders(world):
    at = RESOLVED + 3 * 24 * H
    with time_machine.travel(RESOLVED + H, tick=False):
        review_meeting_schedule(review=world.review, at=at, by=world.commander)
        ids = list(
            Delivery.objects.filter(purpose="follow_up").values_list("pk", flat=True)
        )
        outcomes = deliveries_send(delivery_ids=ids)

    assert outcomes == ["sent", "sent"]
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ic@example.com",
        "lead@example.com",
    ]
    (name, content, mimetype) = mail.outbox[0].attachments[0]
    assert name == "invite.ics"
    assert mimetype.startswith("text/calendar")
    invite = Calendar.from_ical(content)
    (meeting,) = invite.walk("VEVENT")
    assert invite["METHOD"] == "REQUEST"
    assert meeting.decoded("DTSTART") == at
    assert sorted(str(a) for a in meeting.get("ATTENDEE")) == [
        "mailto:ic@example.com",
        "mailto:lead@example.com",
    ]
    world.review.refresh_from_db()
    assert world.review.meeting_at == at
    assert sorted(u.username for u in world.review.attendees.all()) == ["ic", "lead"]


def test_the_meeting_is_scheduled_through_the_api(world):
    api = api_client(in_responders(world.commander))
    url = f"/api/v1/incidents/{world.review.incident.public_id}/review/meeting/"
    with time_machine.travel(RESOLVED + H, tick=False):
        past = api.post(url, {"at": "2026-11-01T10:00:00Z"}, format="json")
        ok = api.post(
            url,
            {"at": "2026-11-26T10:00:00Z", "attendees": ["ic", "boss"]},
            format="json",
        )

    assert past.status_code == 400
    assert ok.status_code == 200, ok.content
    assert ok.json()["meeting_at"] == "2026-11-26T10:00:00Z"
    after = {i["key"]: i["done"] for i in ok.json()["after_incident"]}
    assert after["meeting_scheduled"] is True
    assert sorted(u for u, _ in world.sent_to()) == ["boss", "ic"]
