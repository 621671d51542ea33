"""Post-incident reviews: when one is required, and its states.

The rule is data: the severity matrix says which severities always need a
review (`pir_required`) and which only when their root cause repeats
(`pir_on_repeat`), and `CATEGORIES_REQUIRING_PIR` which categories always
do. Drills never do: they have their own report. The rule is applied when
the incident resolves, and again when a resolved incident is found to be a
repeat; each decision is on the timeline with its reason.

A review moves required → drafting → initial report published → review
meeting held → published, one step at a time, or is waived (with a reason,
by the incident commander or a team lead). The incident closes only once
its review is published or waived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.exceptions import ReviewError, ReviewStateError, WaiveRefusedError
from incidents.models import (
    Incident,
    IncidentRole,
    PostIncidentReview,
)
from incidents.review_checklist import HAND_TICKED, ITEM_KEYS
from incidents.review_document import SECTION_FIELDS, review_document_prefill
from incidents.selectors import incident_role_holder, user_is_member
from incidents.services.checklists import incident_may_override
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import PIR_DECIDED, PIR_STATE_CHANGED, PIR_WAIVED

State = PostIncidentReview.State
Actor = User | None

CATEGORIES_REQUIRING_PIR: Mapping[str, str] = {
    Incident.Category.SECURITY: "every security incident needs a PIR",
}
# The SOP's deadlines, counted from the resolution.
INITIAL_REPORT_DUE = timedelta(hours=24)
REVIEW_MEETING_DUE = timedelta(days=7)
# Forward, one step at a time; waived from any state before published.
NEXT: Mapping[str, str] = {
    State.REQUIRED: State.DRAFTING,
    State.DRAFTING: State.INITIAL_PUBLISHED,
    State.INITIAL_PUBLISHED: State.MEETING_HELD,
    State.MEETING_HELD: State.PUBLISHED,
}
FINAL = (State.PUBLISHED, State.WAIVED)


def review_requirement(*, incident: Incident) -> tuple[bool, str]:
    """Return whether the incident needs a review, and why (or why not)."""
    severity = incident.severity
    if incident.is_drill:
        return False, "a drill never needs a PIR (it has its own report)"
    category = CATEGORIES_REQUIRING_PIR.get(incident.category)
    if category is not None:
        return True, category
    if severity.pir_required:
        return True, f"every {severity.code} incident needs a PIR"
    if severity.pir_on_repeat:
        link = incident.repeat_links.select_related("repeats").first()
        if link is not None:
            return True, (
                f"{severity.code} repeat of {link.repeats.public_id} "
                f"({link.get_reason_display().lower()})"
            )
        return False, (
            f"{severity.code} needs a PIR only when its root cause repeats, "
            "and no earlier incident matches"
        )
    return False, f"{severity.code} incidents need no PIR"


def review_decide(
    *, incident: Incident, by: Actor, via: str, at: datetime | None = None
) -> PostIncidentReview | None:
    """Apply the rule to a resolved incident; open its review if required.

    Called by the resolve inside its transaction, and when a resolved
    incident turns out to repeat an earlier one. A review once opened stays
    (a reopened and resolved again incident keeps its deadlines).
    """
    existing = PostIncidentReview.objects.filter(incident=incident).first()
    if existing is not None:
        return existing
    required, reason = review_requirement(incident=incident)
    at = at or timezone.now()
    timeline_event_record(
        incident=incident,
        kind=PIR_DECIDED,
        message=f"PIR required: {reason}" if required else f"No PIR needed: {reason}",
        by=by,
        via=via,
        at=at,
        data={"required": required, "reason": reason},
    )
    if not required:
        return None
    resolved = incident.resolved_at or at
    review = PostIncidentReview.objects.create(
        incident=incident,
        reason=reason[:200],
        owner=incident_role_holder(
            incident=incident, role=IncidentRole.INCIDENT_COMMANDER
        ),
        resolved_at=resolved,
        initial_due_at=resolved + INITIAL_REPORT_DUE,
        meeting_due_at=resolved + REVIEW_MEETING_DUE,
        created_at=at,
        **review_document_prefill(incident=incident),
    )
    return review


def review_check_close(*, incident: Incident) -> None:
    """Refuse to close an incident whose review is neither published nor waived."""
    review = PostIncidentReview.objects.filter(incident=incident).first()
    if review is not None and review.state not in FINAL:
        raise ReviewStateError(
            f"incident {incident.public_id} closes once its PIR is published or "
            f"waived; the PIR is {review.get_state_display().lower()}",
            review_state=review.state,
        )


def review_locked(review: PostIncidentReview) -> PostIncidentReview:
    """Re-read the review under a row lock, so concurrent changes queue."""
    return PostIncidentReview.objects.select_for_update().get(pk=review.pk)


def _record(
    review: PostIncidentReview,
    kind: str,
    message: str,
    *,
    by: Actor,
    via: str,
    at: datetime | None = None,
    data: dict[str, object] | None = None,
) -> None:
    timeline_event_record(
        incident=review.incident,
        kind=kind,
        message=message,
        by=by,
        via=via,
        at=at,
        data=data,
    )


def review_check_open(review: PostIncidentReview) -> None:
    """Refuse any change to a published or waived review."""
    if review.state in FINAL:
        raise ReviewStateError(
            f"the PIR of {review.incident.public_id} is "
            f"{review.get_state_display().lower()}; it can no longer change",
            review_state=review.state,
        )


def review_team_members(
    review: PostIncidentReview, users: Iterable[User]
) -> list[User]:
    """Return `users`, or refuse if one is not a member of the team."""
    team = review.incident.service.team
    chosen = list(users)
    strangers = [u for u in chosen if not user_is_member(user=u, team=team)]
    if strangers:
        names = ", ".join(u.get_username() for u in strangers)
        raise ReviewError(f"not members of team {team}: {names}", field="attendees")
    return chosen


@transaction.atomic
def review_advance(
    *,
    review: PostIncidentReview,
    to: str,
    by: Actor,
    via: str = "api",
    attendees: Iterable[User] = (),
    held_at: datetime | None = None,
) -> PostIncidentReview:
    """Move the review one step forward; `meeting_held` records who attended."""
    review = review_locked(review)
    review_check_open(review)
    if to not in State.values:
        raise ReviewError(f"{to!r} is not a PIR state", field="state")
    if NEXT.get(review.state) != to:
        raise ReviewStateError(
            f"the PIR is {review.get_state_display().lower()}; it moves to "
            f"{State(NEXT[review.state]).label.lower()} next (or is waived)",
            review_state=review.state,
            allowed=[NEXT[review.state]],
        )
    now = timezone.now()
    if to == State.MEETING_HELD:
        present = review_team_members(review, attendees)
        if not present:
            raise ReviewError("record who attended the meeting", field="attendees")
        held_at = held_at or review.meeting_at or now
        if held_at > now:
            raise ReviewError("the meeting cannot be held in future", field="held_at")
        review.meeting_held_at = held_at
        review.attendees.set(present)
    elif to == State.INITIAL_PUBLISHED:
        review.initial_published_at = now
    elif to == State.PUBLISHED:
        review.published_at = now
    before = review.state
    review.state = to
    review.save()
    _record(
        review,
        PIR_STATE_CHANGED,
        f"PIR: {State(before).label} → {State(to).label}",
        by=by,
        via=via,
        at=now,
        data={"from": before, "to": to},
    )
    return review


@transaction.atomic
def review_waive(
    *, review: PostIncidentReview, reason: str, by: Actor, via: str = "api"
) -> PostIncidentReview:
    """Waive the review: only the incident commander or a team lead, with a reason."""
    review = review_locked(review)
    review_check_open(review)
    if not incident_may_override(incident=review.incident, user=by):
        raise WaiveRefusedError(
            "only the incident commander or a team lead may waive a PIR"
        )
    if not reason.strip():
        raise ReviewError("waiving a PIR needs a reason", field="reason")
    before = review.state
    review.state = State.WAIVED
    review.waived_at, review.waived_by = timezone.now(), by
    review.waive_reason = reason.strip()
    review.save()
    _record(
        review,
        PIR_WAIVED,
        f"PIR waived — {review.waive_reason}",
        by=by,
        via=via,
        at=review.waived_at,
        data={"reason": review.waive_reason, "from": before},
    )
    return review


@transaction.atomic
def review_update(
    *,
    review: PostIncidentReview,
    by: Actor,
    via: str = "api",
    owner: User | None = None,
    sections: Mapping[str, str] | None = None,
) -> PostIncidentReview:
    """Edit sections of the document or hand the review to another owner.

    The first edit of the document starts drafting.
    """
    review = review_locked(review)
    review_check_open(review)
    sections = dict(sections or {})
    unknown = set(sections) - set(SECTION_FIELDS)
    if unknown:
        raise ReviewError(f"no such section: {', '.join(sorted(unknown))}")
    if owner is not None and owner.pk != review.owner_id:
        (owner,) = review_team_members(review, [owner])
        review.owner = owner
        _record(
            review,
            PIR_STATE_CHANGED,
            f"PIR owner: {owner}",
            by=by,
            via=via,
            data={"owner": owner.get_username()},
        )
    changed = [f for f, text in sections.items() if getattr(review, f) != text]
    for field in changed:
        setattr(review, field, sections[field])
    if changed and review.state == State.REQUIRED:
        review.state = State.DRAFTING
        _record(
            review,
            PIR_STATE_CHANGED,
            "PIR: Required → Drafting",
            by=by,
            via=via,
            data={"from": State.REQUIRED, "to": State.DRAFTING},
        )
    review.save()
    return review


@transaction.atomic
def review_checklist_tick(
    *, review: PostIncidentReview, item: str, done: bool, by: Actor
) -> PostIncidentReview:
    """Tick (or untick) an "After Incident" item the review cannot prove."""
    review = review_locked(review)
    if item not in ITEM_KEYS:
        raise ReviewError(f"{item!r} is not an after-incident item", field="item")
    if item not in HAND_TICKED:
        raise ReviewStateError(
            f"{item!r} ticks itself when the PIR's state proves it", item=item
        )
    if done and item not in review.checklist_ticks:
        who = by.get_username() if by is not None else None
        review.checklist_ticks[item] = {"at": timezone.now().isoformat(), "by": who}
    elif not done:
        review.checklist_ticks.pop(item, None)
    review.save(update_fields=["checklist_ticks"])
    return review
