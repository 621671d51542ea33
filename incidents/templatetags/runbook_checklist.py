"""The incident admin page's checklist of attached runbooks."""

from __future__ import annotations

from typing import Any

from django import template

from incidents.models import Incident, IncidentRunbookStep
from incidents.runbook_selectors import incident_runbook_step_list

register = template.Library()


@register.inclusion_tag(
    "admin/incidents/incident/runbook_checklist.html", takes_context=True
)
def runbook_checklist(context: dict[str, Any], incident: Incident) -> dict[str, Any]:
    """Render the incident's runbook steps, with buttons for those who may
    change the incident."""
    steps = list(incident_runbook_step_list(incident=incident))
    finished = (IncidentRunbookStep.State.DONE, IncidentRunbookStep.State.SKIPPED)
    return {
        "steps": steps,
        "done": sum(step.state in finished for step in steps),
        "may_change": context.get("has_change_permission", False),
        "csrf_token": context.get("csrf_token"),
        "next": context.get("back_to", ""),
    }
