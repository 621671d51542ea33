"""When a runbook attaches to an incident: one contract, one entry per condition.

Each condition is a field (or a pair of fields) of the runbook; left empty it
matches every incident. A runbook attaches when all its conditions match.
Each condition says which runbooks match an incident as a database filter
(so one query finds them all) and how to describe itself to a responder.
A new condition is one more entry in CONDITIONS; the contract tests in
tests/incidents/test_runbook_conditions.py run against every entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q

from incidents.models import Incident, Runbook


@dataclass(frozen=True)
class Condition:
    name: str
    # The runbooks whose condition matches the incident.
    matching: Callable[[Incident], Q]
    # What the condition asks of an incident, or None when it is left empty.
    describe: Callable[[Runbook], str | None]


def _team(incident: Incident) -> Q:
    return Q(team__isnull=True) | Q(team_id=incident.service.team_id)


def _service(incident: Incident) -> Q:
    return Q(service__isnull=True) | Q(service_id=incident.service_id)


def _category(incident: Incident) -> Q:
    return Q(category="") | Q(category=incident.category)


def _severity(incident: Incident) -> Q:
    rank = incident.severity.rank
    at_least = Q(severity_at_least__isnull=True) | Q(severity_at_least__rank__gte=rank)
    at_most = Q(severity_at_most__isnull=True) | Q(severity_at_most__rank__lte=rank)
    return at_least & at_most


def _describe_severity(runbook: Runbook) -> str | None:
    low, high = runbook.severity_at_most, runbook.severity_at_least
    if low is not None and high is not None:
        return f"severity {low.code} to {high.code}"
    if high is not None:
        return f"severity {high.code} or more severe"
    return f"severity {low.code} or less severe" if low is not None else None


CONDITIONS: tuple[Condition, ...] = (
    Condition("team", _team, lambda r: f"team {r.team}" if r.team_id else None),
    Condition(
        "service",
        _service,
        lambda r: f"service {r.service}" if r.service_id else None,
    ),
    Condition(
        "category",
        _category,
        lambda r: f"category {r.get_category_display()}" if r.category else None,
    ),
    Condition("severity", _severity, _describe_severity),
)


def matching(incident: Incident) -> Q:
    """Return the filter of the runbooks all of whose conditions match."""
    combined = Q()
    for condition in CONDITIONS:
        combined &= condition.matching(incident)
    return combined


def describe(runbook: Runbook) -> str:
    """Return when the runbook attaches, in words."""
    parts = [text for c in CONDITIONS if (text := c.describe(runbook))]
    return ", ".join(parts) if parts else "every incident"
