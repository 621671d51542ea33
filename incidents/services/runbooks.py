"""Runbooks on incidents: attaching them as checklists, and working the steps.

Attaching copies the runbook's steps onto the incident, so later edits of
the runbook never change a running incident's checklist. Each step is
ticked, reopened, skipped (with a reason) or annotated through these
services; each change is one timeline event, and doing the same thing twice
changes nothing the second time (a conditional update claims the change).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.exceptions import RunbookError, RunbookStepStateError
from incidents.models import (
    Incident,
    IncidentRunbook,
    IncidentRunbookStep,
    Runbook,
)
from incidents.runbook_selectors import runbook_matching
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import (
    RUNBOOK_ATTACHED,
    RUNBOOK_STEP_DONE,
    RUNBOOK_STEP_NOTE,
    RUNBOOK_STEP_REOPENED,
    RUNBOOK_STEP_SKIPPED,
)

State = IncidentRunbookStep.State
Actor = User | None
# A finished incident's checklist is a record; it no longer changes.
FINAL_STATUSES = (Incident.Status.CLOSED, Incident.Status.CANCELLED)
STEP_COPIED_FIELDS = ("position", "text", "commands", "link", "phase", "required")


def _attach(
    *, incident: Incident, runbook: Runbook, by: Actor, via: str, reason: str
) -> IncidentRunbook | None:
    """Copy `runbook` onto the incident; None if it is already attached."""
    try:
        with transaction.atomic():  # a savepoint: a racing attach only loses this
            attached = IncidentRunbook.objects.create(
                incident=incident,
                runbook=runbook,
                name=runbook.name,
                description=runbook.description,
                attached_by=by,
                reason=reason,
            )
    except IntegrityError:
        return None
    steps = list(runbook.steps.order_by("position"))
    IncidentRunbookStep.objects.bulk_create(
        IncidentRunbookStep(
            incident=incident,
            incident_runbook=attached,
            external_contact_id=step.external_contact_id,
            **{field: getattr(step, field) for field in STEP_COPIED_FIELDS},
        )
        for step in steps
    )
    message = f"Runbook attached: {runbook.name} ({len(steps)} steps)"
    if reason:
        message += f" — {reason}"
    timeline_event_record(
        incident=incident,
        kind=RUNBOOK_ATTACHED,
        message=message,
        by=by,
        via=via,
        at=attached.attached_at,
        data={"runbook": runbook.pk, "name": runbook.name, "reason": reason},
    )
    return attached


@transaction.atomic
def incident_runbooks_attach_matching(
    *, incident: Incident, by: Actor, via: str, reason: str
) -> list[IncidentRunbook]:
    """Attach every enabled runbook the incident now meets and lacks.

    Called by the services that declare an incident or change its category,
    severity or service, inside their transaction and under their lock.
    """
    attached = []
    for runbook in runbook_matching(incident=incident):
        copy = _attach(
            incident=incident, runbook=runbook, by=by, via=via, reason=reason
        )
        if copy is not None:
            attached.append(copy)
    return attached


@transaction.atomic
def incident_runbook_attach(
    *, incident: Incident, runbook: Runbook, by: Actor, via: str = "api"
) -> IncidentRunbook:
    """Attach `runbook` by hand, whatever its conditions say."""
    _check_open(incident)
    if runbook.team_id is not None and runbook.team_id != incident.service.team_id:
        raise RunbookError(
            f"runbook {runbook} belongs to team {runbook.team}, "
            f"not to the incident's team {incident.service.team}",
            field="runbook",
        )
    attached = _attach(
        incident=incident, runbook=runbook, by=by, via=via, reason="attached by hand"
    )
    if attached is None:
        raise RunbookError(
            f"runbook {runbook} is already attached to {incident.public_id}",
            field="runbook",
        )
    return attached


def _check_open(incident: Incident) -> None:
    if incident.status in FINAL_STATUSES:
        raise RunbookStepStateError(
            f"incident {incident.public_id} is {incident.status}; "
            "its runbooks no longer change",
            current=incident.status,
        )


def _label(step: IncidentRunbookStep) -> str:
    text = step.text if len(step.text) <= 80 else step.text[:79] + "…"
    return f"{step.incident_runbook.name} #{step.position}: {text}"


def _changed(
    step: IncidentRunbookStep,
    kind: str,
    message: str,
    *,
    by: Actor,
    via: str,
    extra: dict[str, Any] | None = None,
) -> IncidentRunbookStep:
    """Record the step's change on the timeline and return the step as stored."""
    timeline_event_record(
        incident=step.incident,
        kind=kind,
        message=message,
        by=by,
        via=via,
        data={
            "step": step.pk,
            "runbook": step.incident_runbook.name,
            "position": step.position,
            **(extra or {}),
        },
    )
    step.refresh_from_db()
    return step


@transaction.atomic
def runbook_step_tick(
    *, step: IncidentRunbookStep, by: Actor, via: str = "api"
) -> IncidentRunbookStep:
    """Mark the step done; a step already done stays as it is."""
    _check_open(step.incident)
    claimed = (
        IncidentRunbookStep.objects.filter(pk=step.pk)
        .exclude(state=State.DONE)
        .update(state=State.DONE, done_at=timezone.now(), done_by=by, skip_reason="")
    )
    if not claimed:
        step.refresh_from_db()
        return step
    return _changed(step, RUNBOOK_STEP_DONE, f"Done: {_label(step)}", by=by, via=via)


@transaction.atomic
def runbook_step_untick(
    *, step: IncidentRunbookStep, by: Actor, via: str = "api"
) -> IncidentRunbookStep:
    """Reopen a done or skipped step; an open step stays as it is."""
    _check_open(step.incident)
    before = (
        IncidentRunbookStep.objects.filter(pk=step.pk)
        .values_list("state", flat=True)
        .first()
    )
    claimed = (
        IncidentRunbookStep.objects.filter(pk=step.pk)
        .exclude(state=State.OPEN)
        .update(state=State.OPEN, done_at=None, done_by=None, skip_reason="")
    )
    if not claimed:
        step.refresh_from_db()
        return step
    return _changed(
        step,
        RUNBOOK_STEP_REOPENED,
        f"Reopened: {_label(step)}",
        by=by,
        via=via,
        extra={"was": before},
    )


@transaction.atomic
def runbook_step_skip(
    *, step: IncidentRunbookStep, reason: str, by: Actor, via: str = "api"
) -> IncidentRunbookStep:
    """Skip an open step, saying why; a step already skipped stays as it is."""
    reason = reason.strip()
    if not reason:
        raise RunbookError("skipping a step needs a reason", field="reason")
    _check_open(step.incident)
    claimed = IncidentRunbookStep.objects.filter(pk=step.pk, state=State.OPEN).update(
        state=State.SKIPPED, done_at=timezone.now(), done_by=by, skip_reason=reason
    )
    step.refresh_from_db()
    if not claimed:
        if step.state == State.SKIPPED:
            return step
        raise RunbookStepStateError(
            f"step {step.position} of {step.incident_runbook.name} is done; "
            "reopen it before skipping it",
            current=step.state,
        )
    return _changed(
        step,
        RUNBOOK_STEP_SKIPPED,
        f"Skipped: {_label(step)} — {reason}",
        by=by,
        via=via,
        extra={"reason": reason},
    )


@transaction.atomic
def runbook_step_note(
    *, step: IncidentRunbookStep, text: str, by: Actor, via: str = "api"
) -> IncidentRunbookStep:
    """Set the step's note; the same note again changes nothing."""
    text = text.strip()
    if not text:
        raise RunbookError("a note needs some text", field="text")
    _check_open(step.incident)
    claimed = (
        IncidentRunbookStep.objects.filter(pk=step.pk)
        .exclude(note=text)
        .update(note=text)
    )
    if not claimed:
        step.refresh_from_db()
        return step
    return _changed(
        step,
        RUNBOOK_STEP_NOTE,
        f"Note on {_label(step)}: {text}",
        by=by,
        via=via,
        extra={"note": text},
    )
