"""Reads of drills: a drill's report, read from what happened, and a
team's trends, scoped to the user's teams.

`drill_report` reads the escalation's steps, the pages' deliveries, the
timeline, the status updates and the checklists on every read; nothing is
stored, and the same rows give the same report. Who may see an incident's
details may read its drill report. Expectations and what to improve are
`escalation.drill_scores`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from escalation.drill_scores import (
    CadenceScore,
    ChecklistLine,
    ChecklistScore,
    CommanderScore,
    DrillExpectations,
    DrillReport,
    LevelScore,
    Outcome,
    PageAttempt,
    ResponderScore,
    drill_expectations,
    drill_improvements,
)
from escalation.models import Drill, DrillScenario, Escalation, EscalationStep
from escalation.services.levels import step_page_key
from incidents.cadence import update_slots
from incidents.checklist import incident_checklist
from incidents.lifecycle import ACKNOWLEDGING
from incidents.metrics_selectors import status_update_times
from incidents.models import Incident, IncidentRole, Team, TimelineEvent
from incidents.runbook_selectors import incident_runbook_step_list
from incidents.selectors import User as Viewer
from incidents.selectors import incident_list, incident_queryset, incident_timeline
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CREATED,
    ROLE_ASSIGNED,
    STATUS_CHANGED,
)
from notifications.models import Delivery
from notifications.selectors import delivery_as_seen_by, page_delivery_list

S = Incident.Status


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
    drill = incident_queryset().filter(pk=incident.pk)
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


@dataclass(frozen=True)
class DrillTrend:
    """One drill of a team's trend: how it went, in a line."""

    incident: str
    name: str
    detected_at: datetime
    time_to_acknowledge: timedelta | None
    never_responded: tuple[str, ...]
    cadence_kept: bool | None
    outcome: str

    @property
    def completed(self) -> bool:
        return self.outcome == Outcome.COMPLETED


def drill_incident_list(*, user: Viewer) -> QuerySet[Incident]:
    """Return the drill incidents of `user`'s teams whose details `user` may
    see (the Drill rows themselves: `escalation.selectors.drill_list`)."""
    return incident_list(user=user).filter(is_drill=True)


def drill_get(*, user: Viewer, public_id: str) -> Incident | None:
    """Return the drill `public_id` if `user` may read its report, else None
    (an incident that is no drill, another team's, or none at all)."""
    return drill_incident_list(user=user).filter(public_id=public_id).first()


def drill_scenario_expectations(incident: Incident) -> tuple[DrillExpectations, str]:
    """Return what the drill `incident` is scored against and its name: its
    severity's expectations, narrowed to what its scenario expects (no
    cadence, checklist or resolve target when the scenario leaves them out),
    and the scenario's name; a drill declared by hand has its severity's and
    its title."""
    base = drill_expectations(incident=incident)
    run = Drill.objects.filter(incident=incident).select_related("scenario").first()
    if run is None:
        return base, incident.title
    wanted, E = set(run.scenario.expected), DrillScenario.Expectation
    return replace(
        base,
        update_cadence=base.update_cadence if E.UPDATES in wanted else None,
        resolve_within=base.resolve_within if E.RESOLVE in wanted else None,
        checklist_items=base.checklist_items if E.CHECKLIST in wanted else (),
    ), run.scenario.name


def _scored(incident: Incident, now: datetime | None) -> tuple[DrillReport, str]:
    expectations, name = drill_scenario_expectations(incident)
    return drill_report(incident, expectations, now=now), name


def drill_report_get(
    *, user: Viewer, public_id: str, now: datetime | None = None
) -> DrillReport | None:
    """Return the report of the drill `public_id` if `user` may read it
    (else None), scored against its scenario's expectations."""
    drill = drill_get(user=user, public_id=public_id)
    return _scored(drill, now)[0] if drill is not None else None


def drill_trend(report: DrillReport, *, name: str = "") -> DrillTrend:
    """Return the report as a line of its team's trend (`name`: the
    scenario's, when known; else the incident's title)."""
    cadence = report.cadence
    return DrillTrend(
        incident=report.incident,
        name=name or report.title,
        detected_at=report.detected_at,
        time_to_acknowledge=report.time_to_acknowledge,
        never_responded=report.never_responded,
        cadence_kept=cadence.kept if cadence.cadence is not None else None,
        outcome=report.outcome,
    )


def drill_trends(
    *,
    user: Viewer,
    team: Team,
    since: datetime | None = None,
    now: datetime | None = None,
) -> list[DrillTrend]:
    """Return `team`'s drills (detected since `since`, if given), oldest
    first, each scored (an open one up to `now`)."""
    drills = drill_incident_list(user=user).filter(service__team=team)
    if since is not None:
        drills = drills.filter(detected_at__gte=since)
    return [
        drill_trend(report, name=name)
        for report, name in (
            _scored(drill, now) for drill in drills.order_by("detected_at", "id")
        )
    ]
