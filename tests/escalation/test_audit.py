"""`manage.py escalation_audit`: overdue and missing escalations, and --fix."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from escalation.models import Escalation
from escalation.services.audit import escalations_audit
from incidents.models import Incident
from incidents.services import incident_transition
from notifications.models import Delivery
from tests.factories import declare

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def audit(when: datetime, *args: str) -> str:
    out = StringIO()
    with time_machine.travel(when, tick=False):
        call_command("escalation_audit", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def climbing(service, sop_policy, responder) -> Incident:
    """A P1 declared at T0: L1 paged, L2 due at 10:00."""
    with time_machine.travel(T0, tick=False):
        return declare(service, "P1", by=responder)


@pytest.fixture
def unescalated(service, sop_policy, responder) -> Incident:
    """A P2 declared at 09:30 whose escalation never started."""
    with time_machine.travel(at(minutes=30), tick=False):
        incident = declare(service, "P2", title="Slow search", by=responder)
    Escalation.objects.filter(incident=incident).delete()
    return incident


def test_a_step_within_the_grace_is_not_overdue(climbing):
    assert audit(at(hours=1, seconds=10)) == "No overdue or missing escalations.\n"


def test_overdue_and_missing_escalations_are_listed_most_overdue_first(
    climbing, unescalated
):
    output = audit(at(hours=1, minutes=2, seconds=5))

    lines = output.splitlines()
    assert [re.split(r"\s{2,}", line) for line in lines] == [
        ["INCIDENT", "PROBLEM", "STATE", "LEVEL", "DUE AT", "OVERDUE BY"],
        [
            unescalated.public_id,
            "missing",
            "—",
            "—",
            "2026-11-24T09:30:00+00:00",
            "32m 05s",
        ],
        [
            climbing.public_id,
            "overdue",
            "active",
            "L1 → L2",
            "2026-11-24T10:00:00+00:00",
            "2m 05s",
        ],
        ["2 found."],
    ]
    # The columns line up.
    columns = ("PROBLEM", "missing", "overdue")
    assert (
        len({line.index(word) for line, word in zip(lines[:3], columns, strict=True)})
        == 1
    )


def test_fix_fires_what_is_due_and_starts_what_is_missing(
    climbing, unescalated, team_lead, responder
):
    output = audit(at(hours=1, minutes=2), "--fix")

    assert output.splitlines()[-2:] == [
        f"{unescalated.public_id}: started: climbing, level 1",
        f"{climbing.public_id}: fired 1 step: climbing, level 2",
    ]
    late = Escalation.objects.get(incident=climbing)
    assert (late.level, late.next_level) == (2, 3)
    assert late.due_at == at(hours=2, minutes=2)
    assert Delivery.objects.filter(
        user=team_lead, event_key__contains=f"esc{late.pk}.r1.0.L2"
    ).exists()
    started = Escalation.objects.get(incident=unescalated)
    assert started.steps.get().users == ["responder"]
    assert audit(at(hours=1, minutes=3)) == "No overdue or missing escalations.\n"


def test_fix_stops_an_overdue_climb_on_an_acknowledged_incident(climbing, responder):
    Incident.objects.filter(pk=climbing.pk).update(status=Incident.Status.ACKNOWLEDGED)

    output = audit(at(hours=2), "--fix")

    assert (
        output.splitlines()[-1]
        == f"{climbing.public_id}: fired 0 steps: stopped, level 1"
    )
    assert Escalation.objects.get(incident=climbing).state == "stopped"


def test_a_failure_is_reported_and_the_others_are_still_driven(
    climbing, unescalated, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("escalation.services.audit.escalation_fire_due", broken)

    rows = escalations_audit(now=at(hours=2), fix=True)

    assert [(row.problem, row.action) for row in rows] == [
        ("missing", "started: climbing, level 1"),
        ("overdue", "failed: database went away"),
    ]


def test_resolved_incidents_and_services_without_policy_are_left_alone(
    unescalated, service, responder
):
    incident_transition(incident=unescalated, to=Incident.Status.RESOLVED, by=responder)
    service.escalation_policy = None
    service.save()
    with time_machine.travel(T0, tick=False):
        declare(service, "P0", by=responder)

    assert escalations_audit(now=at(hours=5), fix=False) == []


def test_json_output(climbing):
    rows = json.loads(audit(at(hours=1, seconds=30), "--json", "--grace", "20"))

    assert rows == [
        {
            "incident": climbing.public_id,
            "problem": "overdue",
            "state": "active",
            "level": 1,
            "next_level": 2,
            "due_at": "2026-11-24T10:00:00+00:00",
            "overdue_seconds": 30.0,
            "action": None,
        }
    ]
    assert json.loads(audit(at(hours=1, seconds=30), "--json", "--grace", "40")) == []
