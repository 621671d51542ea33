"""The SOPs' "Incident Timeline Document", rendered from the timeline."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone

from incidents.models import Incident, IncidentRole, TimelineEvent
from incidents.selectors import incident_evidence, incident_timeline
from incidents.timeline_kinds import NOTE

NoteKind = TimelineEvent.NoteKind


def when(value: datetime | None, *, with_date: bool = True) -> str:
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return local.strftime("%Y-%m-%d %H:%M %Z" if with_date else "%H:%M")


def timeline_line(event: TimelineEvent, first_day: str) -> str:
    """Return one event as a line of the document (time, text, who)."""
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
        f"- {' '.join(e.message.split())} ({when(e.at)})"
        for e in events
        if e.kind == NOTE and e.data.get("note_kind") == kind
    ]
    return found or ["- None recorded"]


def _evidence(incident: Incident) -> list[str]:
    """The chain of custody: each record, then each hand-over of it."""
    lines = []
    for record in incident_evidence(incident=incident):
        what = " ".join(record.what.split())
        lines.append(
            f"- E{record.pk}: {what} — {record.hash_algorithm} `{record.hash}`, "
            f"collected by {record.collected_by} at {when(record.collected_at)}, "
            f"kept at {record.location}"
        )
        lines += [
            f"  - {when(t.transferred_at)}: {t.from_holder} → {t.to_holder}"
            + (f", kept at {t.location}" if t.location else "")
            + (f" ({' '.join(t.reason.split())})" if t.reason else "")
            for t in record.transfers.all()
        ]
    return lines


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
        f"**Started:** {when(incident.started_at)}",
        f"**Detected:** {when(incident.detected_at)}",
        f"**Acknowledged:** {when(incident.acknowledged_at)}",
        f"**Resolved:** {when(incident.resolved_at)}",
        f"**War room:** {incident.war_room_channel}",
    ]
    lines += [
        f"**{role.label}:** {holders.get(role.value, '—')}" for role in IncidentRole
    ]
    lines += ["", f"## Timeline ({first_day})"]
    lines += [timeline_line(event, first_day) for event in events]
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
    evidence = _evidence(incident)
    if evidence:
        lines += ["", "## Evidence and Chain of Custody", *evidence]
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
