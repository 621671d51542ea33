"""Drills: started by hand or by a slot, through ingest, to their end."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command

from escalation.drill_selectors import drill_scenario_expectations, drill_trends
from escalation.exceptions import DrillError
from escalation.models import Drill, EscalationStep
from escalation.services import (
    drill_check,
    drill_start,
    drills_sweep,
    escalation_fire_due,
)
from escalation.services.drills import drill_scenario_save
from escalation.timeline_kinds import DRILL_STARTED, ESCALATION_CONTINUED
from incidents.models import Incident
from incidents.services import incident_acknowledge, incident_transition
from notifications.models import Delivery
from tests.escalation.drills import process, scenario
from tests.factories import declare, verify

State = Drill.State


def test_a_drill_fires_its_scenario_through_ingest_and_declares_a_drill(
    sop_policy, team, service, team_lead
):
    drill = drill_start(scenario=scenario(), team=team, by=team_lead)
    assert drill.state == State.RUNNING
    assert drill.ends_at == drill.started_at + timedelta(hours=1)
    assert drill.alert_event.integration.is_drill
    drills_sweep()
    drill = process(drill)
    assert not drill_check(drill_id=drill.pk)  # linked, still running
    drill.refresh_from_db()
    incident = drill.incident
    assert incident.is_drill
    assert (incident.severity_id, incident.category) == ("P1", "database")
    assert incident.timeline.filter(kind=DRILL_STARTED).count() == 1
    # The real policy pages level 1, saying [DRILL] from the first message.
    pages = Delivery.objects.filter(incident=incident, purpose="page")
    assert pages.filter(user__username="responder").exists()
    assert incident.timeline.order_by("at", "id")[0].message.startswith("[DRILL]")


def test_two_drills_of_one_scenario_open_two_incidents(sop_policy, team):
    first = process(drill_start(scenario=scenario(), team=team))
    second = process(drill_start(scenario=scenario(), team=team))
    drills_sweep()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.incident != second.incident
    assert Incident.objects.filter(is_drill=True).count() == 2


def test_a_drill_is_postponed_while_a_real_p1_is_open_and_begins_after(
    sop_policy, team, service
):
    real = declare(service, "P1", title="Real outage")
    drill = drill_start(scenario=scenario(), team=team)
    assert drill.state == State.POSTPONED
    assert real.public_id in drill.reason
    assert drill.alert_event is None
    drills_sweep(now=drill.due_at)  # still open: postponed again
    drill.refresh_from_db()
    assert drill.state == State.POSTPONED
    incident_transition(incident=real, to="cancelled", by=None, reason="test")
    drills_sweep(now=drill.due_at)
    drill.refresh_from_db()
    assert (drill.state, drill.reason) == (State.RUNNING, "")


def test_a_real_p2_or_another_drill_does_not_postpone_a_drill(
    sop_policy, team, service
):
    declare(service, "P2", title="Slow page")
    declare(service, "P0", title="Drill", is_drill=True)
    assert drill_start(scenario=scenario(), team=team).state == State.RUNNING


def test_a_drill_past_its_time_box_is_cancelled_and_timed_out(sop_policy, team):
    drill = process(drill_start(scenario=scenario(), team=team))
    with time_machine.travel(drill.ends_at + timedelta(seconds=1)):
        assert drills_sweep() == 1
    drill.refresh_from_db()
    assert drill.state == State.TIMED_OUT
    assert drill.incident.status == Incident.Status.CANCELLED
    cancelled = drill.incident.timeline.get(data__to="cancelled")
    assert "time box of 1 h ran out" in cancelled.message
    assert drill.reason == cancelled.data["reason"]


def test_a_drill_in_monitoring_past_its_time_box_is_cancelled_too(sop_policy, team):
    drill = process(drill_start(scenario=scenario(), team=team))
    drills_sweep()
    drill.refresh_from_db()
    incident_transition(incident=drill.incident, to="monitoring", by=None)
    drills_sweep(now=drill.ends_at)
    drill.refresh_from_db()
    assert (drill.state, drill.incident.status) == (State.TIMED_OUT, "cancelled")


def test_a_drill_whose_incident_is_resolved_is_completed(sop_policy, team):
    drill = process(drill_start(scenario=scenario(), team=team))
    drills_sweep()
    drill.refresh_from_db()
    incident_transition(incident=verify(drill.incident), to="resolved", by=None)
    drills_sweep()
    drill.refresh_from_db()
    assert drill.state == State.COMPLETED
    assert drill.finished_at is not None


def test_walking_the_chain_pages_every_level_despite_an_acknowledgement(
    sop_policy, team, responder
):
    process(drill_start(scenario=scenario("site-down"), team=team, mode="walk_chain"))
    incident = Incident.objects.get(is_drill=True)
    incident_acknowledge(incident=incident, by=responder)
    assert incident.timeline.filter(kind=ESCALATION_CONTINUED).count() == 1
    escalation = incident.escalation
    escalation.refresh_from_db()
    while escalation.state == "active":  # each level at its due time
        assert escalation_fire_due(escalation_id=escalation.pk, now=escalation.due_at)
        escalation.refresh_from_db()
    steps = EscalationStep.objects.filter(escalation=escalation, cause="escalation")
    # Every level once (the policy's repeat does not apply), then it ends.
    assert sorted(steps.values_list("level", flat=True)) == [1, 2, 3, 4]
    assert escalation.state == "exhausted"
    pages = Delivery.objects.filter(incident=incident, purpose="page")
    assert set(pages.values_list("user__username", flat=True)) >= {
        "responder",
        "lead",
        "commander",
        "manager",
    }


def test_an_acknowledged_normal_drill_stops_its_escalation(sop_policy, team, responder):
    process(drill_start(scenario=scenario("performance-crisis"), team=team))
    incident = Incident.objects.get(is_drill=True)
    incident_acknowledge(incident=incident, by=responder)
    incident.escalation.refresh_from_db()
    assert incident.escalation.state == "stopped"


def test_a_scenario_with_an_invalid_alert_is_refused_with_the_reason(db):
    bad = copy.deepcopy(scenario())
    bad.pk, bad.slug, bad.name = None, "broken", "Broken"
    bad.alert = {**bad.alert, "alerts": [{"status": "burning", "labels": {}}]}
    with pytest.raises(DrillError, match=r"alerts\[0\]\.status' must be firing"):
        drill_scenario_save(scenario=bad)
    bad.alert_format, bad.alert = "pagerduty", {"event_action": "resolve"}
    with pytest.raises(DrillError, match="must be trigger"):
        drill_scenario_save(scenario=bad)


def test_run_drill_starts_a_drill_and_says_which(sop_policy, team, capsys):
    call_command("run_drill", "site-down", "--team", team.slug, "--mode", "walk_chain")
    drill = Drill.objects.get()
    assert (drill.scenario.slug, drill.mode, drill.state) == (
        "site-down",
        "walk_chain",
        State.RUNNING,
    )
    assert f"Drill {drill.pk}" in capsys.readouterr().out


def test_run_drill_refuses_an_unknown_scenario(team):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no scenario 'nope'"):
        call_command("run_drill", "nope", "--team", team.slug)


def test_a_drill_is_scored_by_its_scenario_and_its_report_linked_from_it(
    sop_policy, team, team_lead, admin_client
):
    library = scenario()
    library.expected = ["acknowledge", "resolve"]  # no cadence, no checklist
    library.save()
    drill = process(drill_start(scenario=library, team=team, by=team_lead))
    drills_sweep()
    drill.refresh_from_db()

    expectations, name = drill_scenario_expectations(drill.incident)
    assert name == library.name
    assert (expectations.update_cadence, expectations.checklist_items) == (None, ())
    assert expectations.resolve_within == drill.incident.severity.resolve_target
    (trend,) = drill_trends(user=team_lead, team=team)
    assert trend.name == library.name
    page = admin_client.get(f"/admin/escalation/drill/{drill.pk}/change/")
    report = f"/admin/escalation/escalation/drill-report/{drill.incident.public_id}/"
    assert f'href="{report}"' in page.content.decode()
    assert admin_client.get(report).status_code == 200
