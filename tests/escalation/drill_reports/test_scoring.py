"""Scoring the scripted drill (see conftest.py): who acknowledged when, who
never responded and how each page of theirs went, the incident commander,
the status update cadence, the checklist; a cancelled drill is not completed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from escalation.drill_scores import drill_expectations
from escalation.drill_selectors import drill_report
from tests.escalation.drill_reports.conftest import T0


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def test_a_drill_scores_who_acknowledged_when_at_each_level(scripted_drill):
    report = drill_report(scripted_drill)

    assert report.time_to_acknowledge == minutes(12)
    assert [
        (level.label, level.paged, level.acknowledged_by, level.time_to_acknowledge)
        for level in report.levels
    ] == [
        ("L1 On call", ("alice", "bob"), None, None),
        ("L2 Backup", ("carol",), "carol", minutes(2)),
    ]
    by_name = {r.username: r for r in report.responders}
    assert by_name["carol"].time_to_acknowledge == minutes(2)
    assert by_name["alice"].time_to_acknowledge is None
    assert by_name["alice"].time_to_respond == minutes(14)  # her note


def test_a_responder_who_never_responded_is_named_with_each_page_and_its_outcome(
    scripted_drill,
):
    report = drill_report(scripted_drill)

    assert report.never_responded == ("bob",)
    (bob,) = [r for r in report.responders if r.never_responded]
    assert [(p.method, p.status, p.at) for p in bob.pages] == [
        ("Webhook (signed JSON)", "failed", T0)
    ]
    assert "404" in bob.pages[0].error
    assert report.improvements[0].startswith("bob never responded to the page")


def test_a_late_incident_commander_and_a_missed_update_are_what_to_improve(
    scripted_drill,
):
    report = drill_report(scripted_drill)

    assert (report.commander.user, report.commander.after) == ("carol", minutes(25))
    assert report.commander.on_time is False
    assert [(u.due_at - T0, u.posted_at) for u in report.cadence.updates] == [
        (minutes(30), T0 + minutes(28)),
        (minutes(58), None),
    ]
    assert report.cadence.kept is False
    assert report.improvements[1:3] == (
        "The incident commander (carol) was assigned after 25 min; "
        "expected within 15 min.",
        "1 of 2 status updates were missed (due 2026-12-01 12:58 UTC; "
        "one is due every 30 min).",
    )


def test_a_resolved_drill_is_completed_with_its_time_to_resolve(scripted_drill):
    report = drill_report(scripted_drill)

    assert (report.outcome, report.completed) == ("completed", True)
    assert report.time_to_resolve == minutes(70)
    assert report.improvements[-1] == "Resolving took 1 h 10 min; the target is 1 h."
    assert (report.checklist.done, report.checklist.total) == (8, 12)


def test_a_scenario_may_expect_other_times_than_the_severity(scripted_drill):
    expected = replace(
        drill_expectations(incident=scripted_drill),
        commander_within=minutes(30),
        resolve_within=minutes(90),
    )

    report = drill_report(scripted_drill, expected)

    assert report.commander.on_time is True
    assert not any("commander" in line for line in report.improvements)
    assert not any(line.startswith("Resolving") for line in report.improvements)


def test_a_drill_cancelled_when_its_time_box_ran_out_is_not_completed(
    cancelled_drill,
):
    report = drill_report(cancelled_drill)

    assert (report.outcome, report.completed) == ("not_completed", False)
    assert report.ended_at == cancelled_drill.closed_at
    assert report.time_to_acknowledge is None
    assert report.commander.assigned_at is None
    assert report.improvements[0] == (
        "Nobody acknowledged the drill (expected within 1 h)."
    )
    assert report.improvements[-1] == (
        "The drill was not completed: it was cancelled before it was resolved."
    )
