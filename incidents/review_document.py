"""The post-incident review document: the SOP's PIR report template.

A review starts pre-filled from its incident (summary, the key events of
the timeline with the verification outcome, impact, root cause); the rest
is written by the responders, one Markdown text per section. The export is
the template's Markdown, action items from their own records.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth.models import User
from django.http import HttpResponse
from django.utils import timezone

from incidents.models import (
    ActionItem,
    Incident,
    PostIncidentReview,
    TeamMembership,
    TimelineEvent,
)
from incidents.selectors import incident_timeline
from incidents.timeline_document import timeline_line, when
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CREATED,
    NOTE,
    RESOLVE_HELD,
    ROLE_ASSIGNED,
    SEVERITY_CHANGED,
    STATUS_CHANGED,
    VERIFICATION_OVERRIDDEN,
)

NoteKind = TimelineEvent.NoteKind

# (field, heading, the template's prompt for a section not written yet)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("summary", "Incident Summary", "Brief description of what happened"),
    ("timeline", "Timeline", "Detailed timeline of events"),
    ("impact", "Impact", "Users affected, duration, systems and business impact"),
    ("root_cause", "Root Cause", "What actually caused the incident"),
    ("went_well", "What Went Well", "What went well"),
    ("needs_improvement", "What Needs Improvement", "What needs improvement"),
    ("prevention", "Prevention", "How we'll prevent this from happening again"),
    ("lessons_learned", "Lessons Learned", "What we learned"),
)
SECTION_FIELDS = tuple(field for field, _, _ in SECTIONS)
# The events a review's timeline keeps: what changed the course of the
# response, not every notification.
# "escalated" is escalation's kind: the incident core names it by its stored
# value, as it may not import the app above it.
KEY_KINDS = (
    CREATED,
    ACKNOWLEDGED,
    STATUS_CHANGED,
    SEVERITY_CHANGED,
    ROLE_ASSIGNED,
    "escalated",
    RESOLVE_HELD,
    VERIFICATION_OVERRIDDEN,
)
KEY_NOTES = (NoteKind.DECISION, NoteKind.ACTION, NoteKind.HYPOTHESIS)
# Names shorter than this match too many ordinary words to be a hint.
MIN_NAME = 3


def duration_text(delta: timedelta) -> str:
    """Return a duration as the SOP writes it: `1 h 12 min`, `4 h`, `5 min`."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _duration(incident: Incident) -> str:
    if incident.resolved_at is None:
        return "—"
    return duration_text(incident.resolved_at - incident.started_at)


def _verification_outcome(incident: Incident, events: list[TimelineEvent]) -> str:
    items = list(incident.verification_items.all())
    override = next((e for e in events if e.kind == VERIFICATION_OVERRIDDEN), None)
    if override is not None:
        reason = override.data.get("reason", "")
        open_items = "; ".join(override.data.get("open_items", []))
        return f"Verification overridden ({reason}); left open: {open_items}"
    if not items:
        return "Verification: no checklist for this severity"
    done = sum(1 for item in items if item.checked_at is not None)
    return f"Verification: {done} of {len(items)} items checked"


def _key_event(event: TimelineEvent) -> bool:
    if event.kind == NOTE:
        return event.data.get("note_kind") in KEY_NOTES
    return event.kind in KEY_KINDS


def review_document_prefill(*, incident: Incident) -> dict[str, str]:
    """Return the sections the incident itself can fill in."""
    events = list(incident_timeline(incident=incident))
    first_day = timezone.localtime(incident.detected_at).strftime("%Y-%m-%d")
    lines = [timeline_line(e, first_day) for e in events if _key_event(e)]
    lines.append(f"- {_verification_outcome(incident, events)}")
    users = incident.users_affected
    services = [incident.service.name] + [
        s.name for s in incident.affected_services.exclude(pk=incident.service_id)
    ]
    impact = [
        f"- Users affected: {users if users is not None else 'unknown'}",
        f"- Duration: {_duration(incident)}",
        f"- Systems affected: {', '.join(services)}",
        f"- Business impact: {incident.impact.strip() or 'to be described'}",
    ]
    return {
        "summary": incident.summary.strip(),
        "timeline": "\n".join(lines),
        "impact": "\n".join(impact),
        "root_cause": incident.root_cause.strip(),
    }


def _person(user: User | None) -> str:
    if user is None:
        return "unassigned"
    return user.get_full_name() or user.get_username()


def _action_item_line(item: ActionItem) -> str:
    mark = " " if item.status == ActionItem.Status.OPEN else "x"
    title = " ".join(item.title.split())
    detail = f"Owner: {_person(item.owner)}, Due: {item.due_date:%Y-%m-%d}"
    if item.status == ActionItem.Status.WONT_DO:
        title = f"~~{title}~~"
        detail += f", Won't do: {' '.join(item.wont_do_reason.split())}"
    if item.ticket_url:
        detail += f", Ticket: {item.ticket_url}"
    return f"- [{mark}] {title} ({detail})"


def review_document(*, review: PostIncidentReview) -> str:
    """Return the review as the SOP's PIR report in Markdown."""
    incident = review.incident
    attendees = sorted(_person(user) for user in review.attendees.all())
    held = review.meeting_held_at or review.meeting_at
    lines = [
        f"# Post-Incident Review: {incident.title}",
        "",
        f"**Incident ID:** {incident.public_id}",
        f"**Date:** {timezone.localtime(incident.started_at):%Y-%m-%d}",
        f"**Severity:** {incident.severity.code}",
        f"**Duration:** {_duration(incident)}",
        f"**PIR Date:** {when(held) if held else 'not held yet'}",
        f"**Attendees:** {', '.join(attendees) or '—'}",
    ]
    items = [
        _action_item_line(item)
        for item in incident.action_items.select_related("owner").order_by(
            "due_date", "id"
        )
    ]
    for field, heading, prompt in SECTIONS:
        text = getattr(review, field).strip()
        lines += ["", f"## {heading}", text or f"_{prompt}._"]
        if field == "needs_improvement":
            lines += ["", "## Action Items", *(items or ["_None yet._"])]
    return "\n".join(lines) + "\n"


def review_download(*, review: PostIncidentReview) -> HttpResponse:
    """Return the document as a Markdown file download."""
    response = HttpResponse(
        review_document(review=review), content_type="text/markdown; charset=utf-8"
    )
    name = f"{review.incident.public_id}-pir.md"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def blameless_hints(*, review: PostIncidentReview) -> list[str]:
    """Return a hint for each team member the root cause names.

    Reviews are blameless: the root cause says what the system allowed,
    not who did it.
    """
    text = review.root_cause
    if not text.strip():
        return []
    members = TeamMembership.objects.filter(
        team=review.incident.service.team_id
    ).select_related("user")
    hints = []
    for membership in members:
        user = membership.user
        names = {user.get_username(), user.first_name, user.last_name}
        names.add(user.get_full_name())
        found = sorted(
            name
            for name in names
            if len(name.strip()) >= MIN_NAME
            and re.search(rf"(?<!\w){re.escape(name.strip())}(?!\w)", text, re.I)
        )
        if found:
            hints.append(
                f"The root cause names {found[0]!r} ({_person(user)}): reviews are "
                "blameless; describe what the system allowed, not who did it."
            )
    return hints
