"""Paging one escalation level, and the steps and timeline entries it leaves.

Shared by the engine (`engine.py`) and the manual controls (`controls.py`);
each caller holds the incident's and the escalation's locks, taken by
`lock_incident`, in the order every writer takes them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db import models
from django.db.models import Prefetch

from config.db import own_rows
from escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
)
from escalation.selectors import schedule_oncall
from escalation.timeline_kinds import ESCALATED, ESCALATION_SKIPPED
from incidents.models import Incident
from incidents.selectors import incident_lock, team_member_users
from incidents.services.timeline import timeline_event_record
from notifications.services import page_users

Outcome = EscalationStep.Outcome
Cause = EscalationStep.Cause
S = Incident.Status
VIA = "escalation"


class SkipReason(models.TextChoices):
    """Why a level, or someone on it, is not paged."""

    NOT_FOR_SEVERITY = "not_for_severity", "Level not for this severity"
    NO_TARGETS = "no_targets", "Level has no targets"
    SCHEDULE_GAP = "schedule_gap", "Nobody on call"
    EMPTY_TEAM = "empty_team", "Team has nobody (with the role)"
    INACTIVE_USER = "inactive_user", "User is not active"
    NO_CONTACT_METHOD = "no_contact_method", "User has no verified contact method"
    OTHER_TEAM = "other_team", "Target is not of the policy's team"


NOBODY: dict[str, str] = {
    EscalationTarget.Kind.SCHEDULE: SkipReason.SCHEDULE_GAP,
    EscalationTarget.Kind.TEAM: SkipReason.EMPTY_TEAM,
    EscalationTarget.Kind.USER: SkipReason.INACTIVE_USER,
}


@dataclass(frozen=True)
class Gap:
    reason: str
    detail: str


@dataclass
class Reach:
    """Who a level's targets name at an instant, and why some are missing."""

    users: list[User] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)


def level_reach(level: EscalationLevel, at: datetime) -> Reach:
    """Return the users `level` pages at `at`, each once, in target order.

    The engine pages them; the preview shows them. Both read this.
    """
    reach = Reach()
    targets = list(level.targets.all())
    if not targets:
        reach.gaps.append(Gap(SkipReason.NO_TARGETS, "the level has no targets"))
    team_id = level.policy.team_id
    for target in targets:
        if not _of_team(target, team_id):
            # Written before targets were checked, or by hand: another
            # team's people are never paged, nor shown, from this policy.
            reach.gaps.append(
                Gap(SkipReason.OTHER_TEAM, f"{target} is not of the policy's team")
            )
            continue
        users = target_users(target, at)
        if not users:
            reach.gaps.append(Gap(NOBODY[target.kind], f"{target} has nobody"))
        for user in users:
            if not user.is_active:
                name = user.get_username()
                reach.gaps.append(
                    Gap(SkipReason.INACTIVE_USER, f"{name} is not an active user")
                )
            elif user not in reach.users:
                reach.users.append(user)
    return reach


def _of_team(target: EscalationTarget, team_id: int) -> bool:
    if target.kind == EscalationTarget.Kind.TEAM:
        return target.team_id == team_id
    if target.kind == EscalationTarget.Kind.SCHEDULE:
        return target.schedule is None or target.schedule.team_id == team_id
    return True


def target_users(target: EscalationTarget, at: datetime) -> list[User]:
    if target.kind == EscalationTarget.Kind.USER:
        return [target.user] if target.user is not None else []
    if target.kind == EscalationTarget.Kind.TEAM:
        return team_member_users(team=target.team, role=target.team_role)
    if target.schedule is None:
        return []
    return schedule_oncall(schedule=target.schedule, at=at)


def levels_of(policy: EscalationPolicy) -> list[EscalationLevel]:
    """Return the policy's levels with their targets: two queries, every step.

    In the models' order, said without the joins to the policy and its team
    that their default orderings bring (one policy, one level at a time).
    """
    targets = EscalationTarget.objects.select_related(
        "user", "schedule", "team"
    ).order_by("id")
    return list(
        policy.levels.select_related("up_to_severity", "page_at_declaration_up_to")
        .prefetch_related(Prefetch("targets", queryset=targets))
        .order_by("position")
    )


def level_at(
    levels: list[EscalationLevel], position: int | None
) -> EscalationLevel | None:
    return next((lv for lv in levels if lv.position == position), None)


def level_after(levels: list[EscalationLevel], position: int) -> EscalationLevel | None:
    return next((lv for lv in levels if lv.position > position), None)


def lock_incident(incident_id: int) -> tuple[Incident, Escalation | None]:
    """Lock the incident, then its escalation: the order every writer takes."""
    incident = incident_lock(incident_id=incident_id)
    escalation = (
        Escalation.objects.select_for_update(of=own_rows(), no_key=True)
        .select_related("policy")
        .filter(incident=incident)
        .first()
    )
    return incident, escalation


def step_record(
    escalation: Escalation,
    *,
    key: str,
    cause: str,
    level: EscalationLevel | None,
    outcome: str,
    users: Iterable[User],
    due_at: datetime,
    now: datetime,
    by: User | None = None,
) -> EscalationStep:
    return EscalationStep.objects.create(
        escalation=escalation,
        key=key,
        cause=cause,
        level=level.position if level is not None else None,
        run=escalation.run,
        repeat=escalation.repeat,
        outcome=outcome,
        users=[u.get_username() for u in users],
        due_at=due_at,
        fired_at=now,
        by=by,
    )


def step_page_key(escalation_id: int, key: str) -> str:
    """Return what a step's pages are keyed by (its deliveries' event key)."""
    return f"esc{escalation_id}.{key}"


def users_page(
    incident: Incident,
    escalation: Escalation,
    users: Iterable[User],
    key: str,
    *,
    stops_on_ack: bool,
    now: datetime,
) -> tuple[list[User], list[str]]:
    """Page each user; return who was reached and who has no way to be."""
    users = list(users)
    paged: list[User] = []
    unreachable: list[str] = []
    pages = page_users(
        incident=incident,
        users=users,
        event_key=step_page_key(escalation.pk, key),
        stops_on_ack=stops_on_ack,
        now=now,
    )
    for user in users:
        if pages[user.pk]:
            paged.append(user)
        else:
            unreachable.append(f"{user.get_username()} has no verified contact method")
    return paged, unreachable


def level_fire(
    incident: Incident,
    escalation: Escalation,
    level: EscalationLevel,
    *,
    key: str,
    cause: str,
    due_at: datetime,
    now: datetime,
    by: User | None = None,
    already_paged: Collection[str] = (),
) -> EscalationStep:
    """Page `level` (or record why nobody was), as the step named `key`.

    Its people named in `already_paged` (usernames paged for this incident
    at the same moment, by another level) are not paged again: one person
    on two levels gets one page. The step still counts them as reached.
    """
    if not level.applies_to(incident.severity):
        step = step_record(
            escalation,
            key=key,
            cause=cause,
            level=level,
            outcome=Outcome.NOT_FOR_SEVERITY,
            users=(),
            due_at=due_at,
            now=now,
            by=by,
        )
        limit = level.up_to_severity.code if level.up_to_severity else ""
        timeline_add(
            incident,
            ESCALATION_SKIPPED,
            f"{level.label} skipped: only for {limit} and worse",
            step,
            by=by,
        )
        return step
    reach = level_reach(level, now)
    again = [u for u in reach.users if u.get_username() in already_paged]
    paged, unreachable = users_page(
        incident,
        escalation,
        [u for u in reach.users if u not in again],
        key,
        stops_on_ack=incident.status == S.TRIGGERED,
        now=now,
    )
    problems = [gap.detail for gap in reach.gaps] + unreachable
    step = step_record(
        escalation,
        key=key,
        cause=cause,
        level=level,
        outcome=Outcome.PAGED if paged or again else Outcome.EMPTY,
        users=paged + again,
        due_at=due_at,
        now=now,
        by=by,
    )
    if paged or again:
        reached = []
        if paged:
            reached.append(f"paged {', '.join(u.get_username() for u in paged)}")
        if again:
            names = ", ".join(u.get_username() for u in again)
            reached.append(f"{names} already paged, not paged twice")
        message = f"{_CAUSE_TEXT[cause]} {level.label}: {'; '.join(reached)}"
        if problems:
            message += f" ({'; '.join(problems)})"
        timeline_add(incident, ESCALATED, message, step, by=by)
    else:
        why = "; ".join(problems)
        timeline_add(
            incident,
            ESCALATION_SKIPPED,
            f"{level.label} has nobody to page, skipped: {why}",
            step,
            by=by,
        )
    return step


_CAUSE_TEXT: dict[str, str] = {
    Cause.DECLARATION: "Paged at declaration of this severity,",
    Cause.ESCALATION: "Escalated to",
    Cause.RENOTIFY: "New alert, re-notified",
    Cause.MANUAL: "Escalated by hand to",
}


def timeline_add(
    incident: Incident,
    kind: str,
    message: str,
    step: EscalationStep | None = None,
    *,
    by: User | None = None,
    data: dict[str, object] | None = None,
) -> None:
    details: dict[str, object] = dict(data or {})
    if step is not None:
        details |= {
            "step": step.key,
            "level": step.level,
            "run": step.run,
            "repeat": step.repeat,
            "users": step.users,
            "due_at": step.due_at.isoformat(),
            "lateness_seconds": round(step.lateness.total_seconds(), 3),
        }
    timeline_event_record(
        incident=incident, kind=kind, message=message, by=by, via=VIA, data=details
    )
