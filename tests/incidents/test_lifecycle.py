from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.exceptions import (
    IllegalTransitionError,
    IncidentError,
    InvalidAssigneeError,
    TimelineAppendOnlyError,
)
from incidents.lifecycle import TRANSITIONS
from incidents.models import Incident, IncidentRole, SeverityLevel
from incidents.services import (
    incident_acknowledge,
    incident_add_note,
    incident_assign_role,
    incident_change_severity,
    incident_transition,
    incident_update,
)
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CREATED,
    FIELDS_UPDATED,
    ROLE_ASSIGNED,
    SEVERITY_CHANGED,
    STATUS_CHANGED,
    VERIFICATION_TICKED,
)
from tests.factories import core_timeline, declare, verify

S = Incident.Status


def kinds(incident: Incident) -> list[str]:
    return list(core_timeline(incident).values_list("kind", flat=True))


def test_declaring_opens_a_triggered_incident_with_a_created_event(service, responder):
    incident = declare(service, "P0", title="Bot offline", by=responder)

    assert incident.status == S.TRIGGERED
    assert incident.started_at == incident.detected_at
    event = core_timeline(incident).get()
    assert event.kind == CREATED
    assert event.actor == responder
    assert "P0 Critical" in event.message


def test_declaring_with_impact_after_detection_is_refused(service):
    now = timezone.now()
    with pytest.raises(IncidentError, match="started_at"):
        declare(service, started_at=now, detected_at=now - timedelta(minutes=1))
    assert not Incident.objects.exists()


def test_full_lifecycle_sets_each_timestamp_once(incident, responder):
    start = incident.detected_at
    verify(incident)  # a P1 is resolved once verified
    steps = [
        (S.ACKNOWLEDGED, 3),
        (S.INVESTIGATING, 5),
        (S.IDENTIFIED, 10),
        (S.MITIGATING, 12),
        (S.MONITORING, 20),
        (S.RESOLVED, 30),
        (S.CLOSED, 60),
    ]
    for status, minute in steps:
        at = start + timedelta(minutes=minute)
        incident = incident_transition(
            incident=incident, to=status, by=responder, at=at
        )

    assert incident.acknowledged_at == start + timedelta(minutes=3)
    assert incident.mitigated_at == start + timedelta(minutes=20)
    assert incident.resolved_at == start + timedelta(minutes=30)
    assert incident.closed_at == start + timedelta(minutes=60)
    assert incident.time_to_acknowledge == timedelta(minutes=3)
    assert kinds(incident) == [
        CREATED,
        *[VERIFICATION_TICKED] * 6,
        ACKNOWLEDGED,
        *[STATUS_CHANGED] * 6,
    ]


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (S.TRIGGERED, S.CLOSED),
        (S.INVESTIGATING, S.TRIGGERED),
        (S.RESOLVED, S.MITIGATING),
        (S.CLOSED, S.INVESTIGATING),
        (S.CANCELLED, S.TRIGGERED),
        (S.MONITORING, S.CANCELLED),
    ],
)
def test_illegal_transitions_are_refused_and_leave_no_trace(
    incident, responder, start, to
):
    Incident.objects.filter(pk=incident.pk).update(status=start)
    incident.refresh_from_db()

    with pytest.raises(IllegalTransitionError) as refused:
        incident_transition(incident=incident, to=to, by=responder, reason="x")

    assert f"from {start} to {to}" in refused.value.message
    assert refused.value.details["allowed"] == list(TRANSITIONS[start])
    incident.refresh_from_db()
    assert incident.status == start
    assert kinds(incident) == [CREATED]


def test_every_status_has_a_transition_rule():
    assert set(TRANSITIONS) == set(S.values)
    for targets in TRANSITIONS.values():
        assert set(targets) <= set(S.values)


def test_acknowledging_twice_is_refused(incident, responder):
    incident_acknowledge(incident=incident, by=responder)
    with pytest.raises(IllegalTransitionError, match="already acknowledged"):
        incident_acknowledge(incident=incident, by=responder)


def test_unacknowledge_clears_the_acknowledgement(incident, responder):
    incident = incident_acknowledge(incident=incident, by=responder)
    incident = incident_transition(
        incident=incident, to=S.TRIGGERED, by=responder, reason="handing back"
    )
    assert incident.acknowledged_at is None
    assert incident.timeline.last().data == {
        "from": S.ACKNOWLEDGED,
        "to": S.TRIGGERED,
        "reason": "handing back",
    }


def test_resolving_straight_from_triggered_does_not_fake_an_acknowledgement(
    incident, responder
):
    incident = incident_transition(
        incident=verify(incident), to=S.RESOLVED, by=responder
    )
    assert incident.acknowledged_at is None
    assert incident.resolved_at is not None


def test_reopening_a_resolved_incident_clears_its_resolution(incident, responder):
    incident = incident_transition(
        incident=verify(incident), to=S.RESOLVED, by=responder
    )
    incident = incident_transition(incident=incident, to=S.INVESTIGATING, by=responder)
    assert incident.resolved_at is None
    assert incident.status == S.INVESTIGATING


def test_cancelling_needs_a_reason(incident, responder):
    with pytest.raises(IncidentError, match="reason"):
        incident_transition(incident=incident, to=S.CANCELLED, by=responder)
    incident = incident_transition(
        incident=incident, to=S.CANCELLED, by=responder, reason="false positive"
    )
    assert incident.closed_at is not None
    assert "false positive" in incident.timeline.last().message


def test_severity_change_is_recorded_with_direction(incident, responder):
    p0 = SeverityLevel.objects.get(code="P0")
    incident = incident_change_severity(
        incident=incident, severity=p0, by=responder, reason="data loss"
    )
    assert incident.severity_id == "P0"
    event = incident.timeline.last()
    assert event.kind == SEVERITY_CHANGED
    assert event.message == "Severity raised: P1 → P0 — data loss"
    with pytest.raises(IncidentError, match="already P0"):
        incident_change_severity(incident=incident, severity=p0, by=responder)


def test_severity_of_a_closed_incident_cannot_change(incident, responder):
    Incident.objects.filter(pk=incident.pk).update(status=S.CLOSED)
    with pytest.raises(IllegalTransitionError):
        incident_change_severity(
            incident=incident,
            severity=SeverityLevel.objects.get(code="P3"),
            by=responder,
        )


def test_role_hand_over_is_on_the_timeline(incident, responder, team_lead):
    ic = IncidentRole.INCIDENT_COMMANDER
    incident_assign_role(incident=incident, role=ic, user=responder, by=responder)
    incident_assign_role(
        incident=incident, role=ic, user=team_lead, by=responder, reason="shift end"
    )

    assert incident.role_assignments.get(role=ic).user == team_lead
    messages = list(
        incident.timeline.filter(kind=ROLE_ASSIGNED).values_list("message", flat=True)
    )
    assert messages == [
        "Incident Commander assigned: responder",
        "Incident Commander handed over: responder → lead — shift end",
    ]


def test_roles_go_only_to_members_of_the_incident_team(incident, responder, outsider):
    with pytest.raises(InvalidAssigneeError):
        incident_assign_role(
            incident=incident,
            role=IncidentRole.SCRIBE,
            user=outsider,
            by=responder,
        )
    assert not incident.role_assignments.exists()


def test_inactive_users_cannot_take_a_role(incident, responder, team_lead):
    User.objects.filter(pk=team_lead.pk).update(is_active=False)
    team_lead.refresh_from_db()
    with pytest.raises(InvalidAssigneeError):
        incident_assign_role(
            incident=incident,
            role=IncidentRole.TECHNICAL_LEAD,
            user=team_lead,
            by=responder,
        )


def test_notes_keep_their_kind(incident, responder):
    event = incident_add_note(
        incident=incident, text="  Roll back 2.3.1 ", by=responder, note_kind="decision"
    )
    assert event.message == "Roll back 2.3.1"
    assert event.data == {"note_kind": "decision"}
    with pytest.raises(IncidentError):
        incident_add_note(incident=incident, text="   ", by=responder)


def test_update_records_only_changed_fields(incident, responder):
    incident = incident_update(
        incident=incident,
        by=responder,
        title=incident.title,
        root_cause="Expired TLS certificate",
        users_affected=1200,
    )
    event = incident.timeline.last()
    assert event.kind == FIELDS_UPDATED
    assert event.data == {"fields": ["root_cause", "users_affected"]}
    before = incident.timeline.count()
    incident_update(
        incident=incident, by=responder, root_cause="Expired TLS certificate"
    )
    assert incident.timeline.count() == before


def test_update_refuses_status_and_unknown_fields(incident, responder):
    with pytest.raises(IncidentError, match="cannot edit status"):
        incident_update(incident=incident, by=responder, status=S.CLOSED)


def test_timeline_events_cannot_be_changed_or_deleted(incident):
    event = core_timeline(incident).get()
    event.message = "rewritten"
    with pytest.raises(TimelineAppendOnlyError):
        event.save()
    with pytest.raises(TimelineAppendOnlyError):
        event.delete()
    assert core_timeline(incident).get().message != "rewritten"


def test_war_room_channel_follows_the_sop_pattern(service):
    with time_machine.travel("2026-03-14 09:30:00+00:00", tick=False):
        incident = declare(service, title="Database: primary down!")
    assert incident.war_room_channel == "#incident-20260314-database-primary-down"
