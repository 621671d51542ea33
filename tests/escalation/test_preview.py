"""The escalation preview: who a declared incident pages, when and how."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine

from escalation.models import Escalation, EscalationPolicy, EscalationTarget, Schedule
from escalation.preview import SkipReason, escalation_preview
from escalation.services import LayerInput, escalation_fire_due, schedule_create
from incidents.models import SeverityLevel
from notifications.models import Kind, NotificationRule, Urgency
from tests.conftest import api_client
from tests.escalation.conftest import add_level, reachable, team_target, user_target
from tests.factories import ContactMethodFactory, MembershipFactory, declare

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PREVIEW = "/api/v1/services/{}/escalation-preview"


def severity(code: str) -> SeverityLevel:
    return SeverityLevel.objects.get(code=code)


def preview_of(service, code: str, at: datetime = T0):
    return escalation_preview(service=service, severity=severity(code), at=at)


def summary(preview) -> list[tuple]:
    """Return (minute, level, cause, outcome, users) for each step."""
    return [
        (
            step.minute,
            step.level.position,
            step.cause,
            step.outcome,
            [page.user.username for page in step.pages],
        )
        for step in preview.steps
    ]


def engine_summary(incident, until: timedelta) -> list[tuple]:
    """Let the engine climb, firing each step at its due time, up to `until`."""
    escalation = Escalation.objects.get(incident=incident)
    with time_machine.travel(T0, tick=False) as clock:
        while escalation.due_at is not None and escalation.due_at <= T0 + until:
            clock.move_to(escalation.due_at)
            escalation_fire_due(escalation_id=escalation.pk)
            escalation.refresh_from_db()
    return [
        (
            (step.fired_at - T0).total_seconds() / 60,
            step.level,
            step.cause,
            step.outcome,
            step.users,
            step.repeat,
        )
        for step in escalation.steps.order_by("fired_at", "id")
    ]


# --- The SOP policy ---------------------------------------------------------------


def test_a_p0_pages_lead_and_management_at_once_then_climbs_every_15_minutes(
    service, sop_policy
):
    preview = preview_of(service, "P0")

    assert summary(preview) == [
        (0, 1, "escalation", "paged", ["responder"]),
        (0, 2, "declaration", "paged", ["lead"]),
        (0, 4, "declaration", "paged", ["manager"]),
        (15, 2, "escalation", "paged", ["lead"]),
        (30, 3, "escalation", "paged", ["commander"]),
        (45, 4, "escalation", "paged", ["manager"]),
    ]
    assert [step.label for step in preview.steps if step.wait] == [
        "L1 (On-call engineer)",
        "L2 (Team lead)",
        "L3 (Incident commander)",
        "L4 (Management)",
    ]
    assert [step.wait for step in preview.steps] == [
        timedelta(minutes=15),
        None,
        None,
        *[timedelta(minutes=15)] * 3,
    ]
    assert [step.at for step in preview.steps][2:] == [
        T0 + timedelta(minutes=m) for m in (0, 15, 30, 45)
    ]
    assert preview.urgency == Urgency.HIGH
    assert preview.repeats == 0
    assert not preview.nobody_paged
    assert preview.notes[-1].startswith("After the last level the escalation ends")


def test_a_p2_climbs_every_four_hours_and_skips_management(service, sop_policy):
    preview = preview_of(service, "P2")

    assert summary(preview) == [
        (0, 1, "escalation", "paged", ["responder"]),
        (240, 2, "escalation", "paged", ["lead"]),
        (480, 3, "escalation", "paged", ["commander"]),
        (720, 4, "escalation", "not_for_severity", []),
    ]
    skipped = preview.steps[-1]
    assert [(s.reason, s.detail) for s in skipped.skips] == [
        (SkipReason.NOT_FOR_SEVERITY, "only for P0 and worse")
    ]
    assert skipped.wait == timedelta(0)
    assert preview.urgency == Urgency.LOW


@pytest.mark.parametrize(("code", "repeat"), [("P0", 0), ("P1", 1), ("P2", 1)])
def test_the_preview_is_what_the_engine_fires(service, sop_policy, code, repeat):
    sop_policy.repeat = repeat
    sop_policy.save()
    preview = preview_of(service, code)
    with time_machine.travel(T0, tick=False):
        incident = declare(service, code)

    fired = engine_summary(incident, until=timedelta(days=2))

    first_pass = [step[:5] for step in fired if step[5] == 0]
    assert first_pass == [
        (minute, level, cause, outcome, users)
        for minute, level, cause, outcome, users in summary(preview)
    ]
    repeated = sorted({step[5] for step in fired} - {0})
    assert repeated == list(range(1, preview.repeats + 1))


def test_level_one_is_paged_once_even_when_marked_for_declaration(service, sop_policy):
    sop_policy.levels.filter(position=1).update(page_at_declaration_up_to="P1")

    preview = preview_of(service, "P1")

    at_once = [(s.level.position, s.cause) for s in preview.steps if s.minute == 0]
    assert at_once == [(1, "escalation"), (2, "declaration")]
    with time_machine.travel(T0, tick=False):
        incident = declare(service, "P1")
    fired = [step[:5] for step in engine_summary(incident, timedelta(0))]
    assert fired == summary(preview)[:2]


def test_the_levels_are_paged_again_after_a_pass_that_paged_someone(
    service, sop_policy
):
    sop_policy.repeat = 2
    sop_policy.save()

    preview = preview_of(service, "P2")

    assert preview.repeats == 2
    assert preview.notes == [
        "Then the levels are paged again, 2 more times; the next pass starts at "
        "minute 720."
    ]


def test_a_pass_that_paged_nobody_is_not_repeated(service, team):
    quiet = MembershipFactory(team=team, user__username="quiet").user
    policy = EscalationPolicy.objects.create(name="Quiet", team=team, repeat=3)
    add_level(policy, 1, "Quiet", user_target(quiet))
    service.escalation_policy = policy
    service.save()

    preview = preview_of(service, "P1")

    assert (preview.repeats, preview.nobody_paged) == (0, True)
    assert preview.notes == [
        "Nobody is paged: every level is skipped.",
        "The policy repeats 3 times, but not this pass: its levels paged nobody.",
        "After the last level the escalation ends: nobody more is paged until "
        "someone acts.",
    ]


# --- Notification rules ---------------------------------------------------------


def test_channels_fire_at_the_level_offset_plus_each_rule_delay(
    service, sop_policy, responder, team_lead
):
    email = responder.contact_methods.get()
    sms = ContactMethodFactory(user=responder, kind=Kind.SMS, address="+14155550100")
    NotificationRule.objects.create(
        user=responder, urgency=Urgency.HIGH, contact_method=email
    )
    NotificationRule.objects.create(
        user=responder,
        urgency=Urgency.HIGH,
        contact_method=sms,
        delay=timedelta(minutes=5),
    )
    NotificationRule.objects.create(
        user=team_lead,
        urgency=Urgency.HIGH,
        contact_method=team_lead.contact_methods.get(),
        delay=timedelta(minutes=2),
    )
    NotificationRule.objects.create(
        user=responder,
        urgency=Urgency.LOW,
        contact_method=sms,
        delay=timedelta(minutes=10),
    )

    def channels(preview, index: int) -> list[tuple[str, str, float]]:
        (page,) = preview.steps[index].pages
        return [(c.kind, c.address, c.minute) for c in page.channels]

    p1 = preview_of(service, "P1")
    assert [s.level.position for s in p1.steps[:3]] == [1, 2, 2]
    assert channels(p1, 0) == [
        ("email", "responder@example.com", 0),
        ("sms", "+14155550100", 5),
    ]
    assert channels(p1, 1) == [("email", "lead@example.com", 2)]
    assert channels(p1, 2) == [("email", "lead@example.com", 62)]
    # Low urgency: the responder's one rule for it, not the others.
    assert channels(preview_of(service, "P2"), 0) == [("sms", "+14155550100", 10)]


# --- Skips ------------------------------------------------------------------------


@pytest.fixture
def gappy_policy(service, team, responder, commander) -> EscalationPolicy:
    """L1 a schedule with nobody on call, L2 a user without contact methods and
    an inactive one, L3 a team role nobody has, then the responder."""
    reachable(responder)
    quiet = MembershipFactory(team=team, user__username="quiet").user
    gone = reachable(MembershipFactory(team=team, user__username="gone").user)
    gone.is_active = False
    gone.save()
    schedule = Schedule.objects.create(name="Primary", team=team, time_zone="UTC")
    policy = EscalationPolicy.objects.create(name="Gaps", team=team)
    add_level(
        policy,
        1,
        "Rota",
        {"kind": EscalationTarget.Kind.SCHEDULE, "schedule": schedule},
    )
    add_level(policy, 2, "Quiet", user_target(quiet), user_target(gone))
    add_level(policy, 3, "Managers", team_target(team, "manager"))
    add_level(policy, 4, "Responder", user_target(responder))
    service.escalation_policy = policy
    service.save()
    return policy


def test_levels_that_page_nobody_hand_on_at_once_and_say_why(service, gappy_policy):
    preview = preview_of(service, "P1")

    assert summary(preview) == [
        (0, 1, "escalation", "empty", []),
        (0, 2, "escalation", "empty", []),
        (0, 3, "escalation", "empty", []),
        (0, 4, "escalation", "paged", ["responder"]),
    ]
    assert [[(s.reason, s.detail) for s in step.skips] for step in preview.steps] == [
        [(SkipReason.SCHEDULE_GAP, "schedule Primary has nobody")],
        [
            (SkipReason.INACTIVE_USER, "gone is not an active user"),
            (SkipReason.NO_CONTACT_METHOD, "quiet has no verified contact method"),
        ],
        [(SkipReason.EMPTY_TEAM, "team Platform (Managers) has nobody")],
        [],
    ]
    assert preview.steps[-1].wait == timedelta(hours=1)
    with time_machine.travel(T0, tick=False):
        incident = declare(service, "P1")
    assert [step[:5] for step in engine_summary(incident, timedelta(0))] == summary(
        preview
    )


def test_the_schedule_is_asked_who_is_on_call_at_the_steps_instant(
    service, team, team_lead, commander
):
    reachable(team_lead)
    # The commander's rotation starts at 09:10: nobody is on call at minute 0.
    shifts = LayerInput(
        name="Days",
        start_date=T0.date(),
        handoff_time=time(9, 10),
        members=[commander],
        shift_unit="days",
    )
    schedule = schedule_create(
        team=team, name="Primary", time_zone="UTC", layers=[shifts]
    )
    policy = EscalationPolicy.objects.create(name="Rota", team=team)
    add_level(policy, 1, "Lead", user_target(team_lead), delay=timedelta(minutes=20))
    add_level(
        policy,
        2,
        "On call",
        {"kind": EscalationTarget.Kind.SCHEDULE, "schedule": schedule},
    )
    service.escalation_policy = policy
    service.save()

    preview = preview_of(service, "P3")

    assert summary(preview) == [
        (0, 1, "escalation", "paged", ["lead"]),
        (20, 2, "escalation", "paged", ["commander"]),
    ]
    policy.levels.filter(position=1).update(delay=timedelta(minutes=5))
    assert summary(preview_of(service, "P3"))[1] == (5, 2, "escalation", "empty", [])


def test_a_service_without_a_policy_pages_nobody(service):
    preview = preview_of(service, "P0")

    assert preview.policy is None
    assert preview.steps == []
    assert preview.nobody_paged
    assert preview.notes == [
        "Service Website has no escalation policy: nobody is paged."
    ]


def test_the_preview_needs_an_instant_with_a_time_zone(service, sop_policy):
    with pytest.raises(ValueError, match="time zone"):
        preview_of(service, "P0", at=datetime(2026, 11, 24, 9, 0))  # noqa: DTZ001


# --- API ---------------------------------------------------------------------------


def test_the_api_answers_minutes_people_channels_and_skips(api, service, sop_policy):
    response = api.get(
        PREVIEW.format("website"), {"severity": "P2", "at": T0.isoformat()}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["service"], body["severity"], body["policy"]) == (
        "website",
        "P2",
        "SOP",
    )
    assert body["at"] == "2026-11-24T09:00:00Z"
    assert [(s["minute"], s["level"], s["cause"]) for s in body["steps"]] == [
        (0, 1, "escalation"),
        (240, 2, "escalation"),
        (480, 3, "escalation"),
        (720, 4, "escalation"),
    ]
    assert body["steps"][0]["paged"] == [
        {
            "user": "responder",
            "channels": [
                {"kind": "email", "address": "responder@example.com", "minute": 0.0}
            ],
        }
    ]
    assert body["steps"][0]["wait_minutes"] == 240
    assert body["steps"][3]["skips"] == [
        {"reason": "not_for_severity", "detail": "only for P0 and worse"}
    ]
    assert body["nobody_paged"] is False


def test_the_api_defaults_to_now_and_takes_a_trailing_slash(api, service, sop_policy):
    with time_machine.travel(T0, tick=False):
        response = api.get(PREVIEW.format("website") + "/", {"severity": "P0"})

    assert response.status_code == 200, response.content
    assert response.json()["at"] == "2026-11-24T09:00:00Z"
    assert len(response.json()["steps"]) == 6


def test_the_api_says_nobody_is_paged_without_a_policy(api, service):
    body = api.get(PREVIEW.format("website"), {"severity": "P0"}).json()

    assert (body["policy"], body["steps"], body["nobody_paged"]) == (None, [], True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"severity": "P9"}, "severity"),
        ({}, "severity"),
        ({"severity": "P0", "at": "2026-11-24T09:00:00"}, "at"),
        ({"severity": "P0", "at": "tomorrow"}, "at"),
    ],
)
def test_the_api_refuses_unknown_severities_and_naive_times(
    api, service, sop_policy, query, field
):
    response = api.get(PREVIEW.format("website"), query)

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_another_teams_service_is_not_found_and_strangers_are_refused(
    service, sop_policy, outsider
):
    url = PREVIEW.format("website")
    assert api_client(outsider).get(url, {"severity": "P0"}).status_code == 404
    assert api_client().get(url, {"severity": "P0"}).status_code == 401
