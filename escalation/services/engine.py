"""The escalation engine: climbing an incident's policy, once per level.

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
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from escalation.models import Escalation, EscalationLevel, EscalationStep
from escalation.selectors import drill_walks_chain
from escalation.services.levels import (
    Cause,
    Outcome,
    S,
    level_after,
    level_at,
    level_fire,
    levels_of,
    lock_incident,
    timeline_add,
)
from escalation.timeline_kinds import (
    ESCALATION_CONTINUED,
    ESCALATION_RESTARTED,
    ESCALATION_SKIPPED,
    ESCALATION_STOPPED,
)
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident
from incidents.selectors import incident_lock_unless_busy

logger = logging.getLogger(__name__)

State = Escalation.State


def escalation_climb(
    incident: Incident,
    escalation: Escalation,
    now: datetime,
    *,
    cause: str = Cause.ESCALATION,
    by: User | None = None,
    levels: list[EscalationLevel] | None = None,
) -> int:
    """Fire every step of the locked escalation that is due; return how many.

    A level with nobody to page, or not for this severity, hands on to the
    next at once. Stops at the first level that paged someone and waits its
    delay, or when the policy is exhausted. `levels`: the policy's, if the
    caller has just read them (`levels_of`).
    """
    policy = escalation.policy
    if policy is None:  # deleted while the incident climbed it
        _exhaust(incident, escalation, [], now)
        escalation.save()
        return 0
    if levels is None:
        levels = levels_of(policy)
    fired = 0
    step: EscalationStep | None = None
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
            _exhaust(incident, escalation, levels, now, last=step)
            break
        key = f"r{escalation.run}.{escalation.repeat}.L{level.position}"
        step = level_fire(
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
        elif (
            escalation.repeat < policy.repeat
            and _pass_paged(escalation, last=step)
            and incident.status == S.TRIGGERED  # a drill walking its chain: once
        ):
            escalation.repeat += 1
            escalation.next_level = levels[0].position
            escalation.due_at = now + wait
        else:
            _exhaust(incident, escalation, levels, now, last=step)
    escalation.save()
    _schedule(escalation)
    return fired


def _pass_paged(escalation: Escalation, last: EscalationStep | None = None) -> bool:
    """Return whether this pass through the levels reached anybody.

    A pass that paged nobody is not repeated: it would page nobody again.
    `last`, a step of the climb just fired, answers without a query when it
    is one of this pass's and paged.
    """
    if (
        last is not None
        and last.outcome == Outcome.PAGED
        and last.cause in _PASS_CAUSES
        and (last.run, last.repeat) == (escalation.run, escalation.repeat)
    ):
        return True
    return escalation.steps.filter(
        run=escalation.run,
        repeat=escalation.repeat,
        outcome=Outcome.PAGED,
        cause__in=_PASS_CAUSES,
    ).exists()


# The causes of the steps of a pass through the levels.
_PASS_CAUSES = (Cause.ESCALATION, Cause.MANUAL)


def _exhaust(
    incident: Incident,
    escalation: Escalation,
    levels: list[EscalationLevel],
    now: datetime,
    last: EscalationStep | None = None,
) -> None:
    escalation.state = State.EXHAUSTED
    escalation.next_level = None
    escalation.due_at = None
    repeats = escalation.policy.repeat if escalation.policy else 0
    if escalation.policy is None:
        why = "its policy was deleted"
    elif not levels:
        why = "its policy has no levels"
    elif escalation.repeat or _pass_paged(escalation, last=last):
        why = f"every level was paged ({escalation.repeat + 1} of {repeats + 1} times)"
    else:
        why = "no level had anybody to page"
    timeline_add(
        incident,
        ESCALATION_STOPPED,
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
    incident, existing = lock_incident(incident.pk)
    if existing is not None:
        return existing
    policy = incident.service.escalation_policy
    if policy is None:
        escalation = Escalation.objects.create(
            incident=incident, state=State.NO_POLICY, started_at=now
        )
        timeline_add(
            incident,
            ESCALATION_SKIPPED,
            f"Service {incident.service} has no escalation policy: nobody is paged",
        )
        return escalation
    levels = levels_of(policy)
    escalation = Escalation.objects.create(
        incident=incident,
        policy=policy,
        state=State.ACTIVE,
        next_level=levels[0].position if levels else None,
        due_at=now,
        started_at=now,
    )
    escalation_climb(incident, escalation, now, levels=levels)
    # After the climb, so that a level it already reached (level 1 had
    # nobody) is not paged twice, nor anybody it paged.
    declaring = [
        level
        for level in levels
        if level.position > escalation.level
        and level.pages_at_declaration(incident.severity)
    ]
    if not declaring:
        return escalation
    paged = {
        name
        for users in escalation.steps.values_list("users", flat=True)
        for name in users
    }
    for level in declaring:
        step = level_fire(
            incident,
            escalation,
            level,
            key=f"r1.declare.L{level.position}",
            cause=Cause.DECLARATION,
            due_at=now,
            now=now,
            already_paged=paged,
        )
        paged.update(step.users)
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
        if not incident_lock_unless_busy(incident_id=incident_id):
            # Being changed right now: by an acknowledgement (which stops the
            # climb) or by another firing of this step. A worker blocked on
            # the lock would be one fewer firing the rest; if a step is still
            # due, the next sweep fires it.
            return 0
        incident, escalation = lock_incident(incident_id)
        if escalation is None or escalation.state != State.ACTIVE:
            return 0
        now = now or timezone.now()
        if escalation.due_at is None or escalation.due_at > now:
            return 0
        if incident.status != S.TRIGGERED and not _walks_chain(incident):
            # Acknowledged between the due time and now: the status change
            # should have stopped it; stop it here rather than page.
            _stop(incident, escalation, f"incident {incident.get_status_display()}")
            return 0
        return escalation_climb(incident, escalation, now)


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


def _walks_chain(incident: Incident) -> bool:
    """Return whether the open incident is an "escalate, don't acknowledge"
    drill's: acknowledged, its climb goes on to the last level, once."""
    return incident.status in OPEN_STATUSES and drill_walks_chain(
        incident_id=incident.pk
    )


def _stop(incident: Incident, escalation: Escalation, why: str) -> None:
    escalation.state = State.STOPPED
    escalation.due_at = None
    escalation.save()
    timeline_add(
        incident,
        ESCALATION_STOPPED,
        f"Escalation stopped: {why}",
        data={"level": escalation.level, "run": escalation.run},
    )


@transaction.atomic
def escalation_status_changed(
    *, incident: Incident, before: str, by: User | None
) -> None:
    """Stop the climb once someone is on it; restart it on un-acknowledge."""
    incident, escalation = lock_incident(incident.pk)
    if escalation is None or escalation.policy is None:
        return
    if incident.status != S.TRIGGERED:
        if escalation.state == State.ACTIVE and _walks_chain(incident):
            timeline_add(
                incident,
                ESCALATION_CONTINUED,
                "[DRILL] Acknowledgement recorded; the escalation goes on until "
                "the last level was paged (escalate, don't acknowledge)",
                by=by,
                data={"level": escalation.level, "status": incident.status},
            )
        elif escalation.state == State.ACTIVE:
            who = f" by {by.get_username()}" if by is not None else ""
            _stop(incident, escalation, f"{incident.get_status_display().lower()}{who}")
        return
    if before == S.TRIGGERED:
        return
    escalation.state = State.ACTIVE
    escalation.run += 1
    escalation.repeat = 0
    escalation.level = 0
    levels = levels_of(escalation.policy)
    escalation.next_level = levels[0].position if levels else None
    now = timezone.now()
    escalation.due_at = now
    timeline_add(
        incident,
        ESCALATION_RESTARTED,
        f"Escalation restarted from the first level: incident is "
        f"{incident.get_status_display().lower()} again",
        by=by,
        data={"run": escalation.run, "from": before},
    )
    escalation_climb(incident, escalation, now)
