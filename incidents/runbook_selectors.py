"""Reads of runbooks, incident checklists and external contacts."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from incidents import runbook_conditions
from incidents.models import (
    ExternalContact,
    Incident,
    IncidentRunbook,
    IncidentRunbookStep,
    Runbook,
    RunbookStep,
)
from incidents.selectors import User, team_list


def runbook_list(*, user: User) -> QuerySet[Runbook]:
    """Return the runbooks shared by all teams and those of `user`'s teams."""
    runbooks = Runbook.objects.select_related(
        "team", "service", "severity_at_least", "severity_at_most"
    ).prefetch_related(
        Prefetch(
            "steps",
            queryset=RunbookStep.objects.select_related("external_contact").order_by(
                "position"
            ),
        )
    )
    if getattr(user, "is_superuser", False):
        return runbooks
    if not user.is_authenticated:
        return runbooks.none()
    return runbooks.filter(Q(team__isnull=True) | Q(team__in=team_list(user=user)))


def runbook_matching(*, incident: Incident) -> QuerySet[Runbook]:
    """Return the enabled runbooks whose conditions the incident meets now
    and that are not attached to it yet, oldest first."""
    return (
        Runbook.objects.filter(runbook_conditions.matching(incident), enabled=True)
        .exclude(attachments__incident=incident)
        .prefetch_related("steps")
        .order_by("created_at", "id")
    )


def external_contact_list(*, user: User) -> QuerySet[ExternalContact]:
    """Return the external contacts of `user`'s teams."""
    return ExternalContact.objects.select_related("team").filter(
        team__in=team_list(user=user)
    )


def _steps() -> QuerySet[IncidentRunbookStep]:
    return IncidentRunbookStep.objects.select_related(
        "external_contact", "done_by", "incident_runbook"
    ).order_by("incident_runbook__attached_at", "incident_runbook_id", "position")


def incident_runbook_list(*, incident: Incident) -> QuerySet[IncidentRunbook]:
    """Return the runbooks attached to the incident with their steps."""
    return (
        IncidentRunbook.objects.filter(incident=incident)
        .select_related("attached_by")
        .prefetch_related(Prefetch("steps", queryset=_steps()))
        .order_by("attached_at", "id")
    )


def incident_runbook_step_list(*, incident: Incident) -> QuerySet[IncidentRunbookStep]:
    """Return the incident's checklist steps, runbook by runbook, in order."""
    return _steps().filter(incident=incident)
