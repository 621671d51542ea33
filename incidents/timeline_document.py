"""The SOPs' "Incident Timeline Document", rendered from the timeline."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone

from incidents.models import Incident, IncidentRole, TimelineEvent
from incidents.selectors import incident_timeline
from incidents.timeline_kinds import NOTE

NoteKind = TimelineEvent.NoteKind


def _when(value: datetime | None, *, with_date: bool = True) -> str:
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return local.strftime("%Y-%m-%d %H:%M %Z" if with_date else "%H:%M")


def _line(event: TimelineEvent, first_day: str) -> str:
    local = timezone.localtime(event.at)
    stamp = local.strftime(
        "%H:%M" if local.strftime("%Y-%m-%d") == first_day else "%Y-%m-%d %H:%M"
    )
    who = f" ({event.actor})" if event.actor else ""
    text = " ".join(event.message.split())
    if event.kind == NOTE:
        kind = event.data.get("note_kind", NoteKind.NOTE)
        if kind != NoteKind.NOTE:
            text = f"{NoteKind(kind).label}: {text}"
    return f"- {stamp} - {text}{who}"


def _notes(events: list[TimelineEvent], kind: str) -> list[str]:
    found = [
        f"- {' '.join(e.message.split())} ({_when(e.at)})"
        for e in events
        if e.kind == NOTE and e.data.get("note_kind") == kind
    ]
    return found or ["- None recorded"]


def timeline_document(*, incident: Incident) -> str:
    """Return the incident's timeline as the SOPs' Markdown document."""
    events = list(incident_timeline(incident=incident))
    holders = {a.role: a.user for a in incident.role_assignments.all()}
    first_day = timezone.localtime(incident.detected_at).strftime("%Y-%m-%d")
    drill = "[DRILL] " if incident.is_drill else ""
    lines = [
        f"# Incident: {drill}{incident.title}",
        "",
        f"**ID:** {incident.public_id}",
        f"**Severity:** {incident.severity.code} ({incident.severity.name})",
        f"**Status:** {incident.get_status_display()}",
        f"**Service:** {incident.service.name}",
        f"**Started:** {_when(incident.started_at)}",
        f"**Detected:** {_when(incident.detected_at)}",
        f"**Acknowledged:** {_when(incident.acknowledged_at)}",
        f"**Resolved:** {_when(incident.resolved_at)}",
        f"**War room:** {incident.war_room_channel}",
    ]
    lines += [
        f"**{role.label}:** {holders.get(role.value, '—')}" for role in IncidentRole
    ]
    lines += ["", f"## Timeline ({first_day})"]
    lines += [_line(event, first_day) for event in events]
    lines += ["", "## Current Status", incident.summary.strip() or "—"]
    if incident.impact or incident.users_affected is not None:
        users = incident.users_affected
        lines += [
            "",
            "## Impact",
            f"Users affected: {users if users is not None else 'unknown'}",
        ]
        if incident.impact:
            lines.append(incident.impact.strip())
    if incident.root_cause:
        lines += ["", "## Root Cause", incident.root_cause.strip()]
    lines += ["", "## Actions Taken", *_notes(events, NoteKind.ACTION)]
    lines += ["", "## Key Decisions", *_notes(events, NoteKind.DECISION)]
    return "\n".join(lines) + "\n"


def timeline_download(*, incident: Incident) -> HttpResponse:
    """Return the document as a Markdown file download."""
    response = HttpResponse(
        timeline_document(incident=incident),
        content_type="text/markdown; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{incident.public_id}-timeline.md"'
    )
    return response
