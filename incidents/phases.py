"""The order of the security response's phases, and what blocks a step.

Contain, assess, preserve evidence, eradicate, recover: within one attached
runbook, a step of a later phase waits until every required step of the
earlier phases is done or skipped (a skip carries its reason). Steps of
other phases, or with none, are not ordered.
"""

from __future__ import annotations

from incidents.models import IncidentRunbookStep, Phase

ORDERED_PHASES: tuple[str, ...] = (
    Phase.CONTAIN,
    Phase.ASSESS,
    Phase.PRESERVE_EVIDENCE,
    Phase.ERADICATE,
    Phase.RECOVER,
)


def phase_blockers(*, step: IncidentRunbookStep) -> list[IncidentRunbookStep]:
    """Return the open required steps of earlier phases that `step` waits for."""
    if step.phase not in ORDERED_PHASES:
        return []
    earlier = ORDERED_PHASES[: ORDERED_PHASES.index(step.phase)]
    return list(
        IncidentRunbookStep.objects.filter(
            incident_runbook_id=step.incident_runbook_id,
            phase__in=earlier,
            required=True,
            state=IncidentRunbookStep.State.OPEN,
        ).order_by("position")
    )
