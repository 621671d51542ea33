"""What a post-incident review sends: the meeting invitation, and reminders
and escalations of its deadlines.

Reminders: before each open deadline (VIGIL_PIR_REMIND_BEFORE_HOURS) and
when it is due, the review's owner is told; once it is
VIGIL_PIR_ESCALATE_AFTER_HOURS overdue, the team's leads; twice that, its
managers. Each (review, deadline, stage) has one claim row: the sweep whose
insert wins writes the message in the same transaction, so racing sweeps
and a redelivered task message remind once. A sweep that finds several
stages due at once (beat was down) sends only the latest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from incidents.exceptions import ReviewError
from incidents.models import (
    PostIncidentReview,
    ReviewReminder,
    TeamMembership,
)
from incidents.models.reviews import DEADLINE_DUE_FIELDS, DEADLINE_OPEN_STATES
from incidents.review_document import duration_text
from incidents.services.notices import person_email_address, person_notice_send
from incidents.services.reviews import (
    review_check_open,
    review_locked,
    review_team_members,
)
from incidents.services.timeline import timeline_event_record
from incidents.timeline_document import when
from incidents.timeline_kinds import PIR_MEETING_SCHEDULED, PIR_REMINDED

State = PostIncidentReview.State
Deadline = ReviewReminder.Deadline
Stage = ReviewReminder.Stage
Actor = User | None
MEETING_LENGTH = timedelta(hours=1)  # the protocol's one-hour meeting
ACTIVE = DEADLINE_OPEN_STATES[Deadline.REVIEW_MEETING]


def review_url(review: PostIncidentReview) -> str:
    """Return where the owner edits the review."""
    path = reverse("admin:incidents_postincidentreview_change", args=[review.pk])
    return settings.VIGIL_BASE_URL + path


def review_responders(*, review: PostIncidentReview) -> list[User]:
    """Return who responded: role holders, whoever acted on the timeline, and
    who declared it, as long as they are active members of the team."""
    incident = review.incident
    ids = set(incident.role_assignments.values_list("user_id", flat=True))
    ids |= set(
        incident.timeline.filter(actor__isnull=False).values_list("actor_id", flat=True)
    )
    if incident.created_by_id is not None:
        ids.add(incident.created_by_id)
    return list(
        User.objects.filter(
            pk__in=ids,
            is_active=True,
            memberships__team=incident.service.team_id,
        ).order_by("username")
    )


def _invitation(
    review: PostIncidentReview, at: datetime, attendees: list[User], sequence: int
) -> str:
    incident = review.incident
    calendar = Calendar()
    calendar.add("prodid", "-//Vigil//Post-incident review//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = Event()
    host = settings.VIGIL_BASE_URL.split("://", 1)[-1].split("/", 1)[0]
    event.add("uid", f"pir-{review.pk}@{host}")
    event.add("sequence", sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", at)
    event.add("dtend", at + MEETING_LENGTH)
    event.add("summary", f"Post-incident review: {incident.public_id} {incident.title}")
    event.add(
        "description",
        "Agenda: review the timeline, what went well, what needs improvement, "
        f"action items with owners and deadlines.\n{review_url(review)}",
    )
    for user in attendees:
        address = person_email_address(user=user)
        if not address:
            continue
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["cn"] = vText(user.get_full_name() or user.get_username())
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return calendar.to_ical().decode()


@transaction.atomic
def review_meeting_schedule(
    *,
    review: PostIncidentReview,
    at: datetime,
    by: Actor,
    attendees: Iterable[User] | None = None,
    via: str = "api",
) -> PostIncidentReview:
    """Schedule the review meeting and e-mail each attendee an invitation.

    Without `attendees`, the responders are invited. Scheduling again moves
    the meeting and sends the updated invitation.
    """
    review = review_locked(review)
    review_check_open(review)
    if review.state == State.MEETING_HELD:
        raise ReviewError("the meeting has been held already", field="at")
    if at < timezone.now():
        raise ReviewError("schedule the meeting in the future", field="at")
    invited = (
        review_responders(review=review)
        if attendees is None
        else review_team_members(review, attendees)
    )
    if not invited:
        raise ReviewError("nobody to invite: name the attendees", field="attendees")
    review.meeting_at = at
    review.save(update_fields=["meeting_at"])
    review.attendees.set(invited)
    incident = review.incident
    sequence = incident.timeline.filter(kind=PIR_MEETING_SCHEDULED).count()
    calendar = _invitation(review, at, invited, sequence)
    unreachable = []
    for user in invited:
        sent = person_notice_send(
            user=user,
            event_key=f"pir{review.pk}:meeting{sequence}",
            subject=f"Invitation: post-incident review of {incident.public_id} "
            f"on {when(at)}",
            text=f"You are invited to the post-incident review of "
            f"{incident.public_id} ({incident.title}) on {when(at)}, for one "
            f"hour.\n{review_url(review)}",
            incident=incident,
            calendar=calendar,
        )
        if not sent:
            unreachable.append(user.get_username())
    names = ", ".join(u.get_username() for u in invited)
    timeline_event_record(
        incident=incident,
        kind=PIR_MEETING_SCHEDULED,
        message=f"PIR meeting scheduled for {when(at)}; invited: {names}"
        + (f" (no verified e-mail: {', '.join(unreachable)})" if unreachable else ""),
        by=by,
        via=via,
        data={
            "at": at.isoformat(),
            "attendees": [u.get_username() for u in invited],
            "unreachable": unreachable,
        },
    )
    return review


# --- Reminders and escalation ------------------------------------------------


@dataclass(frozen=True)
class Due:
    deadline: str
    at: datetime


def _stage_times(at: datetime) -> list[tuple[str, datetime]]:
    before = timedelta(hours=settings.VIGIL_PIR_REMIND_BEFORE_HOURS)
    after = timedelta(hours=settings.VIGIL_PIR_ESCALATE_AFTER_HOURS)
    return [
        (Stage.BEFORE, at - before),
        (Stage.DUE, at),
        (Stage.LEAD, at + after),
        (Stage.MANAGER, at + 2 * after),
    ]


def _open_deadlines(review: PostIncidentReview) -> list[Due]:
    return [
        Due(deadline, getattr(review, DEADLINE_DUE_FIELDS[deadline]))
        for deadline, states in DEADLINE_OPEN_STATES.items()
        if review.state in states
    ]


def _recipients(review: PostIncidentReview, stage: str) -> list[User]:
    if stage in (Stage.BEFORE, Stage.DUE) and review.owner is not None:
        return [review.owner]
    role = (
        TeamMembership.Role.MANAGER
        if stage == Stage.MANAGER
        else (TeamMembership.Role.LEAD)
    )
    return list(
        User.objects.filter(
            is_active=True,
            memberships__team=review.incident.service.team_id,
            memberships__role=role,
        ).order_by("username")
    )


def _wording(due: Due, stage: str, now: datetime) -> str:
    if stage == Stage.BEFORE:
        return f"due in {duration_text(due.at - now)}"
    if stage == Stage.DUE:
        return "due now"
    return f"overdue by {duration_text(now - due.at)}"


def _remind(
    review: PostIncidentReview, due: Due, stage: str, now: datetime
) -> list[str]:
    incident = review.incident
    label = Deadline(due.deadline).label
    wording = _wording(due, stage, now)
    told: list[str] = []
    unreachable: list[str] = []
    for user in _recipients(review, stage):
        sent = person_notice_send(
            user=user,
            event_key=f"pir{review.pk}:{due.deadline}:{stage}",
            subject=f"PIR of {incident.public_id}: {label.lower()} {wording}",
            text=f"The {label.lower()} of the post-incident review of "
            f"{incident.public_id} ({incident.title}) is {wording} "
            f"(deadline {when(due.at)}; the PIR is "
            f"{review.get_state_display().lower()}; owner: "
            f"{review.owner or 'nobody'}).\n{review_url(review)}",
            incident=incident,
            now=now,
        )
        (told if sent else unreachable).append(user.get_username())
    timeline_event_record(
        incident=incident,
        kind=PIR_REMINDED,
        message=f"PIR {label.lower()} {wording} ({Stage(stage).label.lower()}): "
        + (", ".join(told) if told else "nobody reachable")
        + (f"; no verified e-mail: {', '.join(unreachable)}" if unreachable else ""),
        by=None,
        via="reminders",
        at=now,
        data={
            "deadline": due.deadline,
            "stage": stage,
            "told": told,
            "unreachable": unreachable,
        },
    )
    return told


def _claim(
    review: PostIncidentReview, due: Due, stage: str, *, send: bool, now: datetime
) -> bool:
    """Insert the stage's claim row and, if this sweep won it, send."""
    try:
        with transaction.atomic():
            row = ReviewReminder.objects.create(
                review=review,
                deadline=due.deadline,
                stage=stage,
                claimed_at=now,
                sent=send,
            )
            if send:
                row.recipients = _remind(review, due, stage, now)
                row.save(update_fields=["recipients"])
    except IntegrityError:
        return False  # another sweep has this stage
    return send


def review_reminders_send(*, now: datetime | None = None) -> int:
    """Send the reminders and escalations that are due (beat); return how many."""
    now = now or timezone.now()
    soon = now + timedelta(hours=settings.VIGIL_PIR_REMIND_BEFORE_HOURS)
    reviews = PostIncidentReview.objects.filter(
        state__in=ACTIVE, initial_due_at__lte=soon
    ).select_related("incident__service", "owner")
    done = set(
        ReviewReminder.objects.filter(review__in=reviews).values_list(
            "review_id", "deadline", "stage"
        )
    )
    sent = 0
    for review in reviews:
        for due in _open_deadlines(review):
            stages = [s for s, at in _stage_times(due.at) if at <= now]
            for stage in stages:
                if (review.pk, due.deadline, stage) in done:
                    continue
                latest = stage == stages[-1]
                sent += _claim(review, due, stage, send=latest, now=now)
    return sent
