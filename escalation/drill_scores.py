"""Drill scoring: what a drill's responders are expected to do, the shape
of its report, and what to improve, said from the misses.

A drill is a real incident flagged `is_drill`; `drill_report` (in
`escalation.drill_selectors`) reads what happened into a `DrillReport`,
never stored. What is expected comes from the severity matrix
(`drill_expectations`); a scenario may pass its own `DrillExpectations`.

A drill resolved is completed; one cancelled (its time box ran out) is not;
one still open is in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import TextChoices

from incidents.cadence import UpdateSlot
from incidents.checklist import ITEMS
from incidents.formatting import human_duration, when
from incidents.models import Incident

# A drill ends when resolved (or cancelled): closing comes after, with its review.
NOT_EXPECTED_OF_A_DRILL = ("incident_closed",)


class Outcome(TextChoices):
    COMPLETED = "completed", "Completed"
    NOT_COMPLETED = "not_completed", "Not completed"
    IN_PROGRESS = "in_progress", "In progress"


@dataclass(frozen=True)
class DrillExpectations:
    """What a drill's responders are expected to do, and how soon."""

    acknowledge_within: timedelta
    commander_within: timedelta
    update_cadence: timedelta | None
    resolve_within: timedelta | None
    checklist_items: tuple[str, ...]


@dataclass(frozen=True)
class PageAttempt:
    """One delivery of a page: the contact method tried and its outcome."""

    method: str
    status: str
    at: datetime | None
    error: str


@dataclass(frozen=True)
class ResponderScore:
    username: str
    levels: tuple[str, ...]
    paged_at: datetime | None
    acknowledged_at: datetime | None
    time_to_acknowledge: timedelta | None
    responded_at: datetime | None
    time_to_respond: timedelta | None
    pages: tuple[PageAttempt, ...]

    @property
    def never_responded(self) -> bool:
        return self.responded_at is None


@dataclass(frozen=True)
class LevelScore:
    """One step of the escalation: a level paged (or skipped), a responder added."""

    label: str
    paged_at: datetime
    paged: tuple[str, ...]
    outcome: str
    acknowledged_by: str | None
    time_to_acknowledge: timedelta | None


@dataclass(frozen=True)
class CommanderScore:
    user: str | None
    assigned_at: datetime | None
    after: timedelta | None
    on_time: bool


@dataclass(frozen=True)
class CadenceScore:
    cadence: timedelta | None
    updates: tuple[UpdateSlot, ...]

    @property
    def kept(self) -> bool:
        return not any(update.missed for update in self.updates)


@dataclass(frozen=True)
class ChecklistLine:
    label: str
    done: bool
    at: datetime | None


@dataclass(frozen=True)
class ChecklistScore:
    items: tuple[ChecklistLine, ...]
    runbook_steps: tuple[ChecklistLine, ...]

    @property
    def done(self) -> int:
        return sum(line.done for line in (*self.items, *self.runbook_steps))

    @property
    def total(self) -> int:
        return len(self.items) + len(self.runbook_steps)


@dataclass(frozen=True)
class DrillReport:
    incident: str
    title: str
    severity: str
    service: str
    team: str
    status: str
    detected_at: datetime
    ended_at: datetime | None
    outcome: str
    expectations: DrillExpectations
    acknowledged_at: datetime | None
    time_to_acknowledge: timedelta | None
    levels: tuple[LevelScore, ...]
    responders: tuple[ResponderScore, ...]
    commander: CommanderScore
    cadence: CadenceScore
    checklist: ChecklistScore
    resolved_at: datetime | None
    time_to_resolve: timedelta | None
    improvements: tuple[str, ...]

    @property
    def completed(self) -> bool:
        return self.outcome == Outcome.COMPLETED

    @property
    def never_responded(self) -> tuple[str, ...]:
        return tuple(r.username for r in self.responders if r.never_responded)


def drill_expectations(*, incident: Incident) -> DrillExpectations:
    """Return what the incident's severity expects: acknowledge and name an
    incident commander within its acknowledge target, post updates on its
    cadence, resolve within its resolve target, and work the response
    checklist (all but closing)."""
    severity = incident.severity
    items = tuple(
        item.key
        for item in ITEMS
        if item.applies(incident) and item.key not in NOT_EXPECTED_OF_A_DRILL
    )
    return DrillExpectations(
        acknowledge_within=severity.ack_target,
        commander_within=severity.ack_target,
        update_cadence=severity.update_cadence,
        resolve_within=severity.resolve_target,
        checklist_items=items,
    )


def _attempts(responder: ResponderScore) -> str:
    if not responder.pages:
        return "no page reached a contact method"
    return "; ".join(
        f"{page.method}: {page.status}" + (f" ({page.error})" if page.error else "")
        for page in responder.pages
    )


def drill_improvements(report: DrillReport) -> list[str]:
    """Return what to improve, one plain sentence per miss of the drill."""
    expected = report.expectations
    within = human_duration(expected.acknowledge_within)
    said: list[str] = []
    if report.time_to_acknowledge is None:
        said.append(f"Nobody acknowledged the drill (expected within {within}).")
    elif report.time_to_acknowledge > expected.acknowledge_within:
        took = human_duration(report.time_to_acknowledge)
        said.append(f"The first acknowledgement took {took}; the target is {within}.")
    for responder in report.responders:
        if responder.never_responded:
            said.append(
                f"{responder.username} never responded to the page "
                f"({_attempts(responder)}): check their contact methods and "
                "notification rules, and that they know they are on call."
            )
        elif any(page.status.startswith("failed") for page in responder.pages):
            said.append(
                f"A page to {responder.username} failed ({_attempts(responder)}): "
                "fix or replace that contact method."
            )
    commander = report.commander
    if commander.assigned_at is None:
        said.append("No incident commander was assigned.")
    elif not commander.on_time and commander.after is not None:
        said.append(
            f"The incident commander ({commander.user}) was assigned after "
            f"{human_duration(commander.after)}; expected within "
            f"{human_duration(expected.commander_within)}."
        )
    missed = [update for update in report.cadence.updates if update.missed]
    if missed and report.cadence.cadence is not None:
        dues = ", ".join(when(update.due_at) for update in missed)
        said.append(
            f"{len(missed)} of {len(report.cadence.updates)} status updates "
            f"were missed (due {dues}; one is due every "
            f"{human_duration(report.cadence.cadence)})."
        )
    checklist = report.checklist
    undone = [line.label for line in checklist.items if not line.done]
    if undone:
        said.append(f"Checklist items not done: {', '.join(undone)}.")
    steps = [line.label for line in checklist.runbook_steps if not line.done]
    if steps:
        said.append(f"Required runbook steps left open: {'; '.join(steps)}.")
    said += _ending(report)
    return said


def _ending(report: DrillReport) -> list[str]:
    target = report.expectations.resolve_within
    if report.outcome == Outcome.NOT_COMPLETED:
        return ["The drill was not completed: it was cancelled before it was resolved."]
    if report.outcome == Outcome.IN_PROGRESS:
        return ["The drill is still open: resolve it, or let its time box end it."]
    took = report.time_to_resolve
    if target is not None and took is not None and took > target:
        return [
            f"Resolving took {human_duration(took)}; the target is "
            f"{human_duration(target)}."
        ]
    return []
