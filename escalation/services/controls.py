"""Acting on an escalation by hand, and re-notifying on a new alert.

Each goes through the engine's lock order (incident, then escalation) and
leaves a step and a timeline entry, like the engine's own steps.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalation.exceptions import EscalationError
from escalation.models import Escalation, EscalationStep
from escalation.services.engine import State, escalation_climb
from escalation.services.levels import (
    Cause,
    Outcome,
    level_after,
    level_at,
    level_fire,
    levels_of,
    lock_incident,
    step_record,
    timeline_add,
    users_page,
)
from escalation.timeline_kinds import REASSIGNED, RESPONDER_ADDED
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Alert, Incident


def _open_escalation(incident: Incident) -> tuple[Incident, Escalation]:
    incident, escalation = lock_incident(incident.pk)
    if incident.status not in OPEN_STATUSES:
        raise EscalationError(
            f"incident {incident.public_id} is {incident.get_status_display().lower()}"
        )
    if escalation is None:
        raise EscalationError(f"incident {incident.public_id} has no escalation yet")
    return incident, escalation


@transaction.atomic
def escalation_escalate(*, incident: Incident, by: User | None) -> EscalationStep:
    """Page the next level now, whatever its wait (escalate now).

    While the incident is unacknowledged the climb goes on from there; on an
    acknowledged one the level is asked to help and nothing more is paged.
    """
    incident, escalation = _open_escalation(incident)
    if escalation.policy is None:
        raise EscalationError(
            f"service {incident.service} has no escalation policy to climb"
        )
    levels = levels_of(escalation.policy)
    following = level_after(levels, escalation.level)
    if escalation.state == State.ACTIVE:
        following = level_at(levels, escalation.next_level) or following
    if following is None:
        raise EscalationError(
            f"incident {incident.public_id} already reached the last level"
        )
    now = timezone.now()
    if escalation.state == State.ACTIVE:
        escalation.next_level = following.position
        escalation.due_at = now
        escalation_climb(incident, escalation, now, cause=Cause.MANUAL, by=by)
        return escalation.steps.filter(cause=Cause.MANUAL).latest("id")
    step = level_fire(
        incident,
        escalation,
        following,
        key=f"r{escalation.run}.{escalation.repeat}.L{following.position}",
        cause=Cause.MANUAL,
        due_at=now,
        now=now,
        by=by,
    )
    escalation.level = following.position
    escalation.save()
    return step


def _page_one(
    incident: Incident,
    escalation: Escalation,
    user: User,
    *,
    key: str,
    cause: str,
    stops_on_ack: bool,
    by: User | None,
) -> EscalationStep:
    if not user.is_active:
        raise EscalationError(f"{user.get_username()} is not an active user")
    if escalation.steps.filter(key=key).exists():
        raise EscalationError(f"{user.get_username()} was already paged for this")
    now = timezone.now()
    paged, unreachable = users_page(
        incident, escalation, [user], key, stops_on_ack=stops_on_ack, now=now
    )
    if not paged:
        raise EscalationError(f"cannot page: {unreachable[0]}")
    return step_record(
        escalation,
        key=key,
        cause=cause,
        level=None,
        outcome=Outcome.PAGED,
        users=paged,
        due_at=now,
        now=now,
        by=by,
    )


@transaction.atomic
def escalation_reassign(
    *, incident: Incident, user: User, by: User | None, reason: str = ""
) -> EscalationStep:
    """Hand the incident to `user`: page them now, and give them the level's time.

    While the incident is unacknowledged, the next level waits its full
    delay again from now, so the new assignee has time to acknowledge.
    """
    incident, escalation = _open_escalation(incident)
    count = escalation.steps.filter(cause=Cause.REASSIGN).count()
    step = _page_one(
        incident,
        escalation,
        user,
        key=f"reassign.{count + 1}",
        cause=Cause.REASSIGN,
        stops_on_ack=incident.status == Incident.Status.TRIGGERED,
        by=by,
    )
    if escalation.state == State.ACTIVE and escalation.policy is not None:
        current = level_at(levels_of(escalation.policy), escalation.level)
        if current is not None:
            escalation.due_at = step.fired_at + current.wait_after(incident.severity)
            escalation.save()
            escalation_climb(incident, escalation, step.fired_at)
    message = f"Reassigned to {user.get_username()}"
    timeline_add(
        incident,
        REASSIGNED,
        f"{message} — {reason}" if reason else message,
        step,
        by=by,
    )
    return step


@transaction.atomic
def escalation_add_responder(
    *, incident: Incident, user: User, by: User | None, reason: str = ""
) -> EscalationStep:
    """Page `user` to join the response, whether or not it is acknowledged."""
    incident, escalation = _open_escalation(incident)
    step = _page_one(
        incident,
        escalation,
        user,
        key=f"responder.r{escalation.run}.u{user.pk}",
        cause=Cause.RESPONDER,
        stops_on_ack=False,
        by=by,
    )
    message = f"Responder added: {user.get_username()}"
    timeline_add(
        incident,
        RESPONDER_ADDED,
        f"{message} — {reason}" if reason else message,
        step,
        by=by,
    )
    return step


@transaction.atomic
def escalation_renotify(*, incident: Incident, alert: Alert) -> EscalationStep | None:
    """Page the level reached so far again: a new alert fires on the incident."""
    incident, escalation = lock_incident(incident.pk)
    if escalation is None or escalation.policy is None or not escalation.level:
        return None
    level = level_at(levels_of(escalation.policy), escalation.level)
    key = f"r{escalation.run}.alert{alert.pk}"
    if level is None or escalation.steps.filter(key=key).exists():
        return None
    now = timezone.now()
    return level_fire(
        incident,
        escalation,
        level,
        key=key,
        cause=Cause.RENOTIFY,
        due_at=now,
        now=now,
    )


@transaction.atomic
def escalation_severity_raised(*, incident: Incident) -> list[EscalationStep]:
    """Page the levels the new severity pages at declaration, if not paged yet.

    An incident raised to P0 reaches, say, management at once, as if it had
    been declared a P0; levels the climb already reached are not paged again.
    """
    incident, escalation = lock_incident(incident.pk)
    if (
        escalation is None
        or escalation.policy is None
        or incident.status not in OPEN_STATUSES
    ):
        return []
    now = timezone.now()
    fired = []
    for level in levels_of(escalation.policy):
        key = f"r{escalation.run}.declare.L{level.position}"
        if (
            level.position <= escalation.level
            or not level.pages_at_declaration(incident.severity)
            or escalation.steps.filter(key=key).exists()
        ):
            continue
        fired.append(
            level_fire(
                incident,
                escalation,
                level,
                key=key,
                cause=Cause.DECLARATION,
                due_at=now,
                now=now,
            )
        )
    return fired
