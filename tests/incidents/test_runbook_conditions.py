"""The contract every runbook condition keeps, run against each of them.

Left empty, a condition matches every incident and says nothing; set, it
matches the incident it names and not one it does not, and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from incidents.models import Incident, Runbook, Service, SeverityLevel
from incidents.runbook_conditions import CONDITIONS, Condition, describe
from tests.factories import ServiceFactory, TeamFactory, declare


@dataclass
class Case:
    """A runbook field setting that `fits` matches and `misfit` does not."""

    fields: Callable[[Service], dict[str, object]]
    fits: Callable[[Service], Incident]
    misfit: Callable[[Service], Incident]
    says: str


def level(code: str) -> SeverityLevel:
    return SeverityLevel.objects.get(code=code)


CASES = {
    "team": Case(
        lambda s: {"team": s.team},
        lambda s: declare(s),
        lambda s: declare(ServiceFactory(team=TeamFactory())),
        "team Platform",
    ),
    "service": Case(
        lambda s: {"team": s.team, "service": s},
        lambda s: declare(s),
        lambda s: declare(ServiceFactory(team=s.team)),
        "service Website",
    ),
    "category": Case(
        lambda s: {"category": "security"},
        lambda s: declare(s, category="security"),
        lambda s: declare(s, category="database"),
        "category Security",
    ),
    "severity": Case(
        # At least as severe as P2, at most as severe as P1: P1 and P2.
        lambda s: {"severity_at_least": level("P2"), "severity_at_most": level("P1")},
        lambda s: declare(s, "P2"),
        lambda s: declare(s, "P0"),
        "severity P1 to P2",
    ),
}


def matches(condition: Condition, runbook: Runbook, incident: Incident) -> bool:
    return Runbook.objects.filter(condition.matching(incident), pk=runbook.pk).exists()


def test_every_condition_has_its_contract_case():
    assert {c.name for c in CONDITIONS} == set(CASES)


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.name)
def test_an_empty_condition_matches_every_incident(condition, service):
    runbook = Runbook.objects.create(name="Any")
    case = CASES[condition.name]
    for incident in (case.fits(service), case.misfit(service)):
        assert matches(condition, runbook, incident)
    assert condition.describe(runbook) is None


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: c.name)
def test_a_set_condition_matches_only_what_it_names(condition, service):
    case = CASES[condition.name]
    runbook = Runbook.objects.create(name="Some", **case.fields(service))
    assert matches(condition, runbook, case.fits(service))
    assert not matches(condition, runbook, case.misfit(service))
    assert condition.describe(runbook) == case.says


def test_a_runbook_with_no_condition_attaches_to_every_incident(db):
    assert describe(Runbook(name="General")) == "every incident"


def test_one_sided_severity_bounds_are_described(db):
    assert describe(Runbook(severity_at_least=level("P1"))) == (
        "severity P1 or more severe"
    )
    assert describe(Runbook(severity_at_most=level("P2"))) == (
        "severity P2 or less severe"
    )
