"""Drill scoring: how the responders did on a drill, read from what happened.

A drill is a real incident flagged `is_drill`; its score is computed on
every read from the escalation's steps, the pages' deliveries, the timeline,
the status updates and the checklists, never stored. `drill_report` is
pure: the same rows give the same report. What is expected comes from the
severity matrix (`drill_expectations`); a scenario may pass its own.

A drill resolved is completed; one cancelled (its time box ran out) is not;
one still open is in progress.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import TextChoices
from django.utils import timezone

from escalation.models import Escalation, EscalationStep
from escalation.services.levels import step_page_key
from incidents.cadence import UpdateSlot, update_slots
from incidents.checklist import ITEMS, incident_checklist
from incidents.formatting import human_duration, when
from incidents.lifecycle import ACKNOWLEDGING
from incidents.metrics_selectors import status_update_times
from incidents.models import Incident, IncidentRole, TimelineEvent
from incidents.runbook_selectors import incident_runbook_step_list
from incidents.selectors import incident_timeline
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CREATED,
    ROLE_ASSIGNED,
    STATUS_CHANGED,
)
from notifications.models import Delivery
from notifications.selectors import delivery_as_seen_by, page_delivery_list

S = Incident.Status
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


def _name(user: User | None) -> str | None:
    return user.get_username() if user is not None else None


def _acknowledging(event: TimelineEvent) -> bool:
    return event.kind in (ACKNOWLEDGED, STATUS_CHANGED) and (
        event.data.get("to") in ACKNOWLEDGING
    )


def _step_label(step: EscalationStep, names: dict[int, str]) -> str:
    if step.level is None:
        return str(step.get_cause_display())
    name = names.get(step.level, "")
    return f"L{step.level} {name}".strip()


def _outcome(delivery: Delivery) -> PageAttempt:
    seen = delivery_as_seen_by(delivery=delivery, viewer=None)
    status = delivery.status
    if delivery.bundled_into is not None:
        status = f"{delivery.bundled_into.status} (bundled)"
    method = str(delivery.get_kind_display())
    if delivery.contact_method is not None and delivery.contact_method.label:
        method += f" ({delivery.contact_method.label})"
    return PageAttempt(
        method=method,
        status=status,
        at=delivery.sent_at or delivery.finished_at,
        error=" ".join(seen.error.split()),
    )


@dataclass(frozen=True)
class _Facts:
    steps: list[EscalationStep]
    level_names: dict[int, str]
    pages: dict[tuple[str, str], list[Delivery]]  # by (step key, username)
    events: list[TimelineEvent]
    first_ack: TimelineEvent | None


def _facts(incident: Incident) -> _Facts:
    escalation = (
        Escalation.objects.filter(incident=incident).select_related("policy").first()
    )
    steps: list[EscalationStep] = []
    names: dict[int, str] = {}
    pages: dict[tuple[str, str], list[Delivery]] = {}
    if escalation is not None:
        steps = list(escalation.steps.order_by("fired_at", "id"))
        if escalation.policy is not None:
            names = dict(escalation.policy.levels.values_list("position", "name"))
        keys = {step_page_key(escalation.pk, step.key): step.key for step in steps}
        found = page_delivery_list(incident=incident, event_keys=keys)
        pages = {
            (keys[key], deliveries[0].user.get_username()): deliveries  # type: ignore[union-attr]
            for (key, _), deliveries in found.items()
        }
    events = list(incident_timeline(incident=incident))
    first_ack = next((event for event in events if _acknowledging(event)), None)
    return _Facts(steps, names, pages, events, first_ack)


def _levels(facts: _Facts) -> tuple[LevelScore, ...]:
    ack = facts.first_ack
    acker = _name(ack.actor) if ack is not None else None
    scores = []
    for step in facts.steps:
        mine = ack is not None and acker in step.users and ack.at >= step.fired_at
        scores.append(
            LevelScore(
                label=_step_label(step, facts.level_names),
                paged_at=step.fired_at,
                paged=tuple(step.users),
                outcome=str(step.get_outcome_display()),
                acknowledged_by=acker if mine else None,
                time_to_acknowledge=ack.at - step.fired_at if mine and ack else None,
            )
        )
    return tuple(scores)


def _responders(facts: _Facts) -> tuple[ResponderScore, ...]:
    paged: dict[str, list[EscalationStep]] = {}
    for step in facts.steps:
        for username in step.users:
            paged.setdefault(username, []).append(step)
    acted = [e for e in facts.events if e.actor is not None and e.kind != CREATED]
    for event in acted:  # who acknowledged without being paged is a responder too
        if _acknowledging(event):
            paged.setdefault(event.actor.get_username(), [])  # type: ignore[union-attr]
    scores = []
    for username, steps in paged.items():
        mine = [e for e in acted if e.actor.get_username() == username]  # type: ignore[union-attr]
        ack = next((e for e in mine if _acknowledging(e)), None)
        first = mine[0] if mine else None
        paged_at = steps[0].fired_at if steps else None
        deliveries = [
            delivery
            for step in steps
            for delivery in facts.pages.get((step.key, username), [])
        ]
        scores.append(
            ResponderScore(
                username=username,
                levels=tuple(_step_label(s, facts.level_names) for s in steps),
                paged_at=paged_at,
                acknowledged_at=ack.at if ack else None,
                time_to_acknowledge=_since(paged_at, ack.at if ack else None),
                responded_at=first.at if first else None,
                time_to_respond=_since(paged_at, first.at if first else None),
                pages=tuple(_outcome(delivery) for delivery in deliveries),
            )
        )
    return tuple(scores)


def _since(start: datetime | None, end: datetime | None) -> timedelta | None:
    """The time from `start` to `end`; zero when it came before (someone who
    acted before their page reached them)."""
    if start is None or end is None:
        return None
    return max(end - start, timedelta(0))


def _commander(facts: _Facts, incident: Incident, within: timedelta) -> CommanderScore:
    named = next(
        (
            e
            for e in facts.events
            if e.kind == ROLE_ASSIGNED
            and e.data.get("role") == IncidentRole.INCIDENT_COMMANDER
        ),
        None,
    )
    if named is None:
        return CommanderScore(None, None, None, on_time=False)
    after = _since(incident.detected_at, named.at)
    return CommanderScore(
        user=str(named.data.get("user") or ""),
        assigned_at=named.at,
        after=after,
        on_time=after is not None and after <= within,
    )


def _cadence(
    incident: Incident, cadence: timedelta | None, end: datetime
) -> CadenceScore:
    if cadence is None:
        return CadenceScore(None, ())
    drill = Incident.objects.filter(pk=incident.pk)
    posted = status_update_times(drill).get(incident.pk, [])
    slots = update_slots(
        detected_at=incident.detected_at, end=end, posted=posted, cadence=cadence
    )
    return CadenceScore(cadence, tuple(slots))


def _checklist(incident: Incident, expected: Sequence[str]) -> ChecklistScore:
    items = tuple(
        ChecklistLine(state.label, state.done, state.at)
        for state in incident_checklist(incident=incident)
        if state.key in expected
    )
    steps = tuple(
        ChecklistLine(
            f"{step.incident_runbook.name} {step.position}. {step.text}",
            step.state != step.State.OPEN,
            step.done_at,
        )
        for step in incident_runbook_step_list(incident=incident)
        if step.required
    )
    return ChecklistScore(items, steps)


def _ended_at(incident: Incident) -> datetime | None:
    if incident.status == S.CANCELLED:
        return incident.closed_at
    return incident.resolved_at


def _outcome_of(incident: Incident) -> str:
    if incident.resolved_at is not None:
        return Outcome.COMPLETED
    if incident.status == S.CANCELLED:
        return Outcome.NOT_COMPLETED
    return Outcome.IN_PROGRESS


def drill_report(
    incident: Incident,
    expectations: DrillExpectations | None = None,
    *,
    now: datetime | None = None,
) -> DrillReport:
    """Score the drill `incident` against `expectations` (by default its
    severity's, `drill_expectations`); an open drill is scored up to `now`."""
    expected = expectations or drill_expectations(incident=incident)
    facts = _facts(incident)
    ended = _ended_at(incident)
    ack = facts.first_ack
    resolved = incident.resolved_at
    report = DrillReport(
        incident=incident.public_id,
        title=incident.title,
        severity=incident.severity_id,
        service=incident.service.name,
        team=incident.service.team.slug,
        status=incident.status,
        detected_at=incident.detected_at,
        ended_at=ended,
        outcome=_outcome_of(incident),
        expectations=expected,
        acknowledged_at=ack.at if ack else None,
        time_to_acknowledge=_since(incident.detected_at, ack.at if ack else None),
        levels=_levels(facts),
        responders=_responders(facts),
        commander=_commander(facts, incident, expected.commander_within),
        cadence=_cadence(
            incident, expected.update_cadence, ended or now or timezone.now()
        ),
        checklist=_checklist(incident, expected.checklist_items),
        resolved_at=resolved,
        time_to_resolve=_since(incident.detected_at, resolved),
        improvements=(),
    )
    return replace(report, improvements=tuple(drill_improvements(report)))


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
