"""A drill report as a Markdown document: what the admin page shows, to
file with the team's drill records or paste into a review."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse

from escalation.drill_scores import DrillReport, Outcome
from incidents.formatting import human_duration, when


def _took(value: timedelta | None, none: str = "—") -> str:
    return human_duration(value) if value is not None else none


def _target(value: timedelta | None) -> str:
    return human_duration(value) if value is not None else "none"


def _responders(report: DrillReport) -> list[str]:
    lines = [
        "| Responder | Paged by | Paged at | Acknowledged after | Responded after |",
        "|---|---|---|---|---|",
    ]
    for r in report.responders:
        responded = _took(r.time_to_respond, "never responded")
        lines.append(
            f"| {r.username} | {', '.join(r.levels) or 'not paged'} "
            f"| {when(r.paged_at) or '—'} | {_took(r.time_to_acknowledge)} "
            f"| {responded} |"
        )
    if not report.responders:
        lines.append("| nobody was paged | | | | |")
    silent = [r for r in report.responders if r.never_responded]
    if silent:
        lines += ["", "Pages of those who never responded:", ""]
    for r in silent:
        for page in r.pages:
            error = f" — {page.error}" if page.error else ""
            lines.append(f"- {r.username}: {page.method}, {page.status}{error}")
        if not r.pages:
            lines.append(f"- {r.username}: no page reached a contact method")
    return lines


def _levels(report: DrillReport) -> list[str]:
    lines = [
        "| Level | Paged at | Paged | Outcome | Acknowledged |",
        "|---|---|---|---|---|",
    ]
    for level in report.levels:
        acked = (
            f"{level.acknowledged_by} after {_took(level.time_to_acknowledge)}"
            if level.acknowledged_by
            else "—"
        )
        lines.append(
            f"| {level.label} | {when(level.paged_at)} "
            f"| {', '.join(level.paged) or 'nobody'} | {level.outcome} | {acked} |"
        )
    return lines


def _cadence(report: DrillReport) -> list[str]:
    cadence = report.cadence
    if cadence.cadence is None:
        return ["No status update cadence for this severity."]
    lines = [f"One update due every {human_duration(cadence.cadence)}."]
    for update in cadence.updates:
        kept = f"posted {when(update.posted_at)}" if update.posted_at else "**missed**"
        lines.append(f"- due {when(update.due_at)}: {kept}")
    if not cadence.updates:
        lines.append("- none came due")
    return lines


def _checklist(report: DrillReport) -> list[str]:
    checklist = report.checklist
    lines = [f"{checklist.done} of {checklist.total} done."]
    for line in (*checklist.items, *checklist.runbook_steps):
        lines.append(f"- [{'x' if line.done else ' '}] {line.label}")
    return lines


def drill_document(report: DrillReport) -> str:
    """Return the report as Markdown."""
    expected = report.expectations
    commander = report.commander
    named = (
        f"{commander.user} at {when(commander.assigned_at)}, after "
        f"{_took(commander.after)} ({'on time' if commander.on_time else 'late'})"
        if commander.assigned_at
        else "never assigned"
    )
    lines = [
        f"# Drill report: {report.title}",
        "",
        f"**Incident:** {report.incident}",
        f"**Severity:** {report.severity}",
        f"**Service:** {report.service} (team {report.team})",
        f"**Detected:** {when(report.detected_at)}",
        f"**Outcome:** {Outcome(report.outcome).label.lower()}"
        + (f" (ended {when(report.ended_at)})" if report.ended_at else ""),
        f"**Expected:** acknowledge and name an incident commander within "
        f"{human_duration(expected.acknowledge_within)}, resolve within "
        f"{_target(expected.resolve_within)}",
        "",
        "## Response",
        "",
        f"- First acknowledgement after {_took(report.time_to_acknowledge, 'never')}",
        f"- Incident commander: {named}",
        f"- Time to resolve: {_took(report.time_to_resolve, 'not resolved')}",
        "",
        "## Responders",
        "",
        *_responders(report),
        "",
        "## Escalation levels",
        "",
        *_levels(report),
        "",
        "## Status updates",
        "",
        *_cadence(report),
        "",
        "## Checklist",
        "",
        *_checklist(report),
        "",
        "## What to improve",
        "",
        *([f"- {line}" for line in report.improvements] or ["- Nothing missed."]),
    ]
    return "\n".join(lines) + "\n"


def drill_download(report: DrillReport) -> HttpResponse:
    """Return the report as a Markdown file download."""
    response = HttpResponse(
        drill_document(report), content_type="text/markdown; charset=utf-8"
    )
    name = f"{report.incident}-drill-report.md"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
