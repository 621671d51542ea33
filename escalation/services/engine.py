"""The escalation engine: climbing an incident's policy, once per level (ESC-2…4).

The state lives in the `Escalation` row; `due_at` is when the next step
fires. A step fires in one transaction that locks the incident and its
escalation, re-reads both, pages the level (the deliveries are rows in the
same transaction) and records the step under a unique key. Whatever runs it
(the step task at its ETA, the sweep, a duplicate message, `--fix`) fires
a step at most once; a worker killed mid-step rolls it all back and the
sweep fires it again.

The wait after a level is counted from when it actually fired, so a late
page still gets its full time to be acknowledged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
)
from escalation.selectors import schedule_oncall
from incidents.models import Incident, TeamMembership, TimelineEvent
from incidents.timeline import record_timeline
from notifications.services import page_user

logger = logging.getLogger(__name__)

Kind = TimelineEvent.Kind
State = Escalation.State
Outcome = EscalationStep.Outcome
Cause = EscalationStep.Cause
S = Incident.Status
VIA = "escalation"


@dataclass
class Reach:
    """Who a level's targets name at an instant, and why some are missing."""

    users: list[User] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)


def level_reach(level: EscalationLevel, at: datetime) -> Reach:
    """Return the users `level` pages at `at`, each once, in target order."""
    reach = Reach()
    for target in level.targets.all():
        users = _target_users(target, at)
        if not users:
            reach.gaps.append(f"{target} has nobody")
        for user in users:
            if not user.is_active:
                reach.gaps.append(f"{user.get_username()} is inactive")
            elif user not in reach.users:
                reach.users.append(user)
    return reach


def _target_users(target: EscalationTarget, at: datetime) -> list[User]:
    if target.kind == EscalationTarget.Kind.USER:
        return [target.user] if target.user is not None else []
    if target.kind == EscalationTarget.Kind.TEAM:
        members = TeamMembership.objects.filter(team=target.team)
        if target.team_role:
            members = members.filter(role=target.team_role)
        return [m.user for m in members.select_related("user").order_by("id")]
    if target.schedule is None:
        return []
    return schedule_oncall(schedule=target.schedule, at=at)


def _levels(policy: EscalationPolicy) -> list[EscalationLevel]:
    return list(
        policy.levels.select_related(
            "up_to_severity", "page_at_declaration_up_to"
        ).prefetch_related("targets__user", "targets__schedule", "targets__team")
    )


def level_at(
    levels: list[EscalationLevel], position: int | None
) -> EscalationLevel | None:
    return next((lv for lv in levels if lv.position == position), None)


def level_after(levels: list[EscalationLevel], position: int) -> EscalationLevel | None:
    return next((lv for lv in levels if lv.position > position), None)


def _lock(incident_id: int) -> tuple[Incident, Escalation | None]:
    """Lock the incident, then its escalation: the order every writer takes."""
    # No joins in the locking reads: PostgreSQL would lock the joined rows too
    # (the severity row, shared by every incident of that severity).
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    escalation = (
        Escalation.objects.select_for_update().filter(incident=incident).first()
    )
    return incident, escalation


def _record_step(
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


def _page(
    incident: Incident,
    escalation: Escalation,
    users: Iterable[User],
    key: str,
    *,
    stops_on_ack: bool,
    now: datetime,
) -> tuple[list[User], list[str]]:
    """Page each user; return who was reached and who has no way to be."""
    paged: list[User] = []
    unreachable: list[str] = []
    for user in users:
        deliveries = page_user(
            incident=incident,
            user=user,
            event_key=f"esc{escalation.pk}.{key}",
            stops_on_ack=stops_on_ack,
            now=now,
        )
        if deliveries:
            paged.append(user)
        else:
            unreachable.append(f"{user.get_username()} has no verified contact method")
    return paged, unreachable


def _fire_level(
    incident: Incident,
    escalation: Escalation,
    level: EscalationLevel,
    *,
    key: str,
    cause: str,
    due_at: datetime,
    now: datetime,
    by: User | None = None,
) -> EscalationStep:
    """Page `level` (or record why nobody was), as the step named `key`."""
    if not level.applies_to(incident.severity):
        step = _record_step(
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
        _timeline(
            incident,
            Kind.ESCALATION_SKIPPED,
            f"{level.label} skipped: only for {limit} and worse",
            step,
            by=by,
        )
        return step
    reach = level_reach(level, now)
    paged, unreachable = _page(
        incident,
        escalation,
        reach.users,
        key,
        stops_on_ack=incident.status == S.TRIGGERED,
        now=now,
    )
    problems = reach.gaps + unreachable
    step = _record_step(
        escalation,
        key=key,
        cause=cause,
        level=level,
        outcome=Outcome.PAGED if paged else Outcome.EMPTY,
        users=paged,
        due_at=due_at,
        now=now,
        by=by,
    )
    if paged:
        names = ", ".join(u.get_username() for u in paged)
        message = f"{_CAUSE_TEXT[cause]} {level.label}: paged {names}"
        if problems:
            message += f" ({'; '.join(problems)})"
        _timeline(incident, Kind.ESCALATED, message, step, by=by)
    else:
        why = "; ".join(problems) or "the level has no targets"
        _timeline(
            incident,
            Kind.ESCALATION_SKIPPED,
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


def _timeline(
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
    record_timeline(incident, kind, message, by=by, via=VIA, data=details)


def _climb(
    incident: Incident,
    escalation: Escalation,
    now: datetime,
    *,
    cause: str = Cause.ESCALATION,
    by: User | None = None,
) -> int:
    """Fire every step of the locked escalation that is due; return how many.

    A level with nobody to page, or not for this severity, hands on to the
    next at once. Stops at the first level that paged someone and waits its
    delay, or when the policy is exhausted.
    """
    policy = escalation.policy
    if policy is None:  # deleted while the incident climbed it
        _exhaust(incident, escalation, [], now)
        escalation.save()
        return 0
    levels = _levels(policy)
    fired = 0
    while (
        escalation.state == State.ACTIVE
        and escalation.due_at is not None
        and escalation.due_at <= now
    ):
        # (or the one after, if the level was deleted while waiting)
        level = level_at(levels, escalation.next_level) or level_after(
            levels, escalation.level
        )
        if level is None:
            _exhaust(incident, escalation, levels, now)
            break
        key = f"r{escalation.run}.{escalation.repeat}.L{level.position}"
        step = _fire_level(
            incident,
            escalation,
            level,
            key=key,
            cause=cause,
            due_at=escalation.due_at,
            now=now,
            by=by,
        )
        cause, by = Cause.ESCALATION, None  # a manual step only starts the climb
        fired += 1
        paged = step.outcome == Outcome.PAGED
        escalation.level = level.position
        following = level_after(levels, level.position)
        wait = level.wait_after(incident.severity) if paged else timedelta(0)
        if following is not None:
            escalation.next_level = following.position
            escalation.due_at = now + wait
        elif escalation.repeat < policy.repeat and _pass_paged(escalation):
            escalation.repeat += 1
            escalation.next_level = levels[0].position
            escalation.due_at = now + wait
        else:
            _exhaust(incident, escalation, levels, now)
    escalation.save()
    _schedule(escalation)
    return fired


def _pass_paged(escalation: Escalation) -> bool:
    """Return whether this pass through the levels reached anybody.

    A pass that paged nobody is not repeated: it would page nobody again.
    """
    return escalation.steps.filter(
        run=escalation.run,
        repeat=escalation.repeat,
        outcome=Outcome.PAGED,
        cause__in=(Cause.ESCALATION, Cause.MANUAL),
    ).exists()


def _exhaust(
    incident: Incident,
    escalation: Escalation,
    levels: list[EscalationLevel],
    now: datetime,
) -> None:
    escalation.state = State.EXHAUSTED
    escalation.next_level = None
    escalation.due_at = None
    repeats = escalation.policy.repeat if escalation.policy else 0
    if escalation.policy is None:
        why = "its policy was deleted"
    elif not levels:
        why = "its policy has no levels"
    elif escalation.repeat or _pass_paged(escalation):
        why = f"every level was paged ({escalation.repeat + 1} of {repeats + 1} times)"
    else:
        why = "no level had anybody to page"
    _timeline(
        incident,
        Kind.ESCALATION_STOPPED,
        f"Escalation ended: {why}; nobody more is paged until someone acts",
        data={"state": escalation.state, "at": now.isoformat()},
    )


def _schedule(escalation: Escalation) -> None:
    """Ask for the step task at the due time, if the wait is short enough.

    Longer waits are left to the sweep: a message held unacknowledged past
    RabbitMQ's `consumer_timeout` would be redelivered (Celery issue 6760).
    """
    due_at = escalation.due_at
    if escalation.state != State.ACTIVE or due_at is None:
        return
    horizon = timedelta(seconds=settings.VIGIL_ESCALATION_ETA_MAX_SECONDS)
    if due_at - timezone.now() > horizon:
        return
    from escalation.tasks import escalation_step_task

    pk = escalation.pk
    transaction.on_commit(
        lambda: escalation_step_task.apply_async(
            kwargs={"escalation_id": pk}, eta=due_at
        ),
        robust=True,
    )


@transaction.atomic
def escalation_start(*, incident: Incident, now: datetime | None = None) -> Escalation:
    """Start the escalation of a newly declared incident, paging level 1 now.

    Levels marked "page at declaration" for the incident's severity are paged
    at once as well. A service with no policy is recorded on the timeline:
    nobody is paged, and that must not be silent.
    """
    now = now or timezone.now()
    incident, existing = _lock(incident.pk)
    if existing is not None:
        return existing
    policy = incident.service.escalation_policy
    if policy is None:
        escalation = Escalation.objects.create(
            incident=incident, state=State.NO_POLICY, started_at=now
        )
        _timeline(
            incident,
            Kind.ESCALATION_SKIPPED,
            f"Service {incident.service} has no escalation policy: nobody is paged",
        )
        return escalation
    levels = _levels(policy)
    escalation = Escalation.objects.create(
        incident=incident,
        policy=policy,
        state=State.ACTIVE,
        next_level=levels[0].position if levels else None,
        due_at=now,
        started_at=now,
    )
    _climb(incident, escalation, now)
    # After the climb, so that a level it already reached (level 1 had
    # nobody) is not paged twice.
    for level in levels:
        if level.position > escalation.level and level.pages_at_declaration(
            incident.severity
        ):
            _fire_level(
                incident,
                escalation,
                level,
                key=f"r1.declare.L{level.position}",
                cause=Cause.DECLARATION,
                due_at=now,
                now=now,
            )
    return escalation


def escalation_fire_due(*, escalation_id: int, now: datetime | None = None) -> int:
    """Fire what is due on one escalation; return how many steps fired.

    Safe to call any number of times, from anywhere: it re-reads the
    escalation under its lock and does nothing unless a step is due and the
    incident is still unacknowledged.
    """
    with transaction.atomic():
        incident_id = (
            Escalation.objects.filter(pk=escalation_id)
            .values_list("incident_id", flat=True)
            .first()
        )
        if incident_id is None:
            return 0
        incident, escalation = _lock(incident_id)
        if escalation is None or escalation.state != State.ACTIVE:
            return 0
        now = now or timezone.now()
        if escalation.due_at is None or escalation.due_at > now:
            return 0
        if incident.status != S.TRIGGERED:
            # Acknowledged between the due time and now: the status change
            # should have stopped it; stop it here rather than page.
            _stop(incident, escalation, f"incident {incident.get_status_display()}")
            return 0
        return _climb(incident, escalation, now)


def escalations_due(*, now: datetime, limit: int = 500) -> list[int]:
    """Return the ids of active escalations whose next step is due."""
    return list(
        Escalation.objects.filter(state=State.ACTIVE, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )


def escalations_sweep(*, now: datetime | None = None) -> int:
    """Fire every due step whose task did not (worker down, message lost)."""
    fired = 0
    now = now or timezone.now()
    for escalation_id in escalations_due(now=now):
        try:
            fired += escalation_fire_due(escalation_id=escalation_id, now=now)
        except Exception:  # one broken escalation must not hold up the rest
            logger.exception("escalation %s: firing failed", escalation_id)
    return fired


def _stop(incident: Incident, escalation: Escalation, why: str) -> None:
    escalation.state = State.STOPPED
    escalation.due_at = None
    escalation.save()
    _timeline(
        incident,
        Kind.ESCALATION_STOPPED,
        f"Escalation stopped: {why}",
        data={"level": escalation.level, "run": escalation.run},
    )


@transaction.atomic
def escalation_status_changed(
    *, incident: Incident, before: str, by: User | None
) -> None:
    """Stop the climb once someone is on it; restart it on un-acknowledge."""
    incident, escalation = _lock(incident.pk)
    if escalation is None or escalation.policy is None:
        return
    if incident.status != S.TRIGGERED:
        if escalation.state == State.ACTIVE:
            who = f" by {by.get_username()}" if by is not None else ""
            _stop(incident, escalation, f"{incident.get_status_display().lower()}{who}")
        return
    if before == S.TRIGGERED:
        return
    escalation.state = State.ACTIVE
    escalation.run += 1
    escalation.repeat = 0
    escalation.level = 0
    levels = _levels(escalation.policy)
    escalation.next_level = levels[0].position if levels else None
    now = timezone.now()
    escalation.due_at = now
    _timeline(
        incident,
        Kind.ESCALATION_RESTARTED,
        f"Escalation restarted from the first level: incident is "
        f"{incident.get_status_display().lower()} again",
        by=by,
        data={"run": escalation.run, "from": before},
    )
    _climb(incident, escalation, now)
