"""Fixtures for schedule tests: team members and a weekly Berlin schedule.

* `alice`, `bob`, `carol` — active members of `team` (Platform).
* `schedule` — "Primary" in Europe/Berlin: one weekly layer (alice, bob)
  handing off Mondays 09:00 local from 2026-03-02.
* `at(local, zone)` — the instant of a local time, for readable tests.
* `sop_policy` — the SOPs' four escalation levels on the `service` fixture,
  with `commander` and `manager`; `add_level`, `user_target`, `team_target`
  and `reachable` build other policies; `webhook_policy` one whose members
  are reached by webhooks, for tests that run real workers.

Hypothesis runs derandomized (the same examples on every run and in CI);
`HYPOTHESIS_PROFILE=explore` tries new random examples instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone
from hypothesis import HealthCheck, settings

from escalation.models import (
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    Schedule,
)
from escalation.services import LayerInput, schedule_create
from incidents.models import Incident, Service, SeverityLevel, Team, TeamMembership
from notifications.models import Delivery
from tests.factories import ContactMethodFactory, MembershipFactory, webhook_contact

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", deadline=None, database=None, max_examples=1000, derandomize=False
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

BERLIN = "Europe/Berlin"


def at(local: str, zone: str = BERLIN) -> datetime:
    """Return the instant of an existing, unambiguous local time in `zone`."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone))


def member(team: Team, username: str) -> User:
    return MembershipFactory(
        team=team, user__username=username, user__first_name=username.title()
    ).user


@pytest.fixture
def alice(team: Team) -> User:
    return member(team, "alice")


@pytest.fixture
def bob(team: Team) -> User:
    return member(team, "bob")


@pytest.fixture
def carol(team: Team) -> User:
    return member(team, "carol")


@pytest.fixture
def schedule(team: Team, alice: User, bob: User) -> Schedule:
    weekly = LayerInput(
        name="Weekly",
        start_date=date(2026, 3, 2),
        handoff_time=time(9),
        members=[alice, bob],
        shift_count=1,
        shift_unit="weeks",
    )
    return schedule_create(team=team, name="Primary", time_zone=BERLIN, layers=[weekly])


Role = TeamMembership.Role


def reachable(user: User) -> User:
    """Give `user` a verified email address, so a page reaches them."""
    ContactMethodFactory(user=user)
    return user


def add_level(
    policy: EscalationPolicy,
    position: int,
    name: str,
    *targets: dict[str, object],
    **fields: object,
) -> EscalationLevel:
    level = EscalationLevel.objects.create(
        policy=policy, position=position, name=name, **fields
    )
    for target in targets:
        EscalationTarget.objects.create(level=level, **target)
    return level


def user_target(user: User) -> dict[str, object]:
    return {"kind": EscalationTarget.Kind.USER, "user": user}


def webhook_policy(
    team: Team, url: Callable[[str], str], *levels: tuple[str, ...], delay: timedelta
) -> EscalationPolicy:
    """A policy of `team` whose levels page the named new members, in turn.

    Each member is reached by a webhook to `url(f"/{name}")`; each level
    waits `delay` before the next.
    """
    policy = EscalationPolicy.objects.create(name=f"Every {delay}", team=team)
    for position, names in enumerate(levels, start=1):
        users = [MembershipFactory(team=team, user__username=n).user for n in names]
        for user in users:
            webhook_contact(user, url(f"/{user.username}"))
        targets = [user_target(user) for user in users]
        add_level(policy, position, " and ".join(names), *targets, delay=delay)
    return policy


def team_target(team: Team, role: str = "") -> dict[str, object]:
    return {"kind": EscalationTarget.Kind.TEAM, "team": team, "team_role": role}


@pytest.fixture
def commander(team: Team) -> User:
    return reachable(MembershipFactory(team=team, user__username="commander").user)


@pytest.fixture
def manager(team: Team) -> User:
    return reachable(
        MembershipFactory(team=team, user__username="manager", role=Role.MANAGER).user
    )


@pytest.fixture
def sop_policy(
    service: Service,
    team: Team,
    responder: User,
    team_lead: User,
    commander: User,
    manager: User,
) -> EscalationPolicy:
    """The SOPs' four levels, each waiting the severity's ack target.

    L1 the on-call engineer; L2 the team lead, paged at declaration for P0/P1;
    L3 the incident commander; L4 management, for P0 only and paged at
    declaration for P0.
    """
    reachable(responder)
    reachable(team_lead)
    policy = EscalationPolicy.objects.create(name="SOP", team=team)
    p0, p1 = SeverityLevel.objects.get(code="P0"), SeverityLevel.objects.get(code="P1")
    add_level(policy, 1, "On-call engineer", user_target(responder))
    add_level(
        policy,
        2,
        "Team lead",
        team_target(team, Role.LEAD),
        page_at_declaration_up_to=p1,
    )
    add_level(policy, 3, "Incident commander", user_target(commander))
    add_level(
        policy,
        4,
        "Management",
        team_target(team, Role.MANAGER),
        up_to_severity=p0,
        page_at_declaration_up_to=p0,
    )
    service.escalation_policy = policy
    service.save()
    return policy


@pytest.fixture
def five_second_policy(sop_policy: EscalationPolicy) -> EscalationPolicy:
    """The SOP policy with 5-second waits, for tests that run in real time."""
    sop_policy.levels.update(delay=timedelta(seconds=5))
    return sop_policy


# --- Escalations in frozen time -----------------------------------------------

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_current_timezone())


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Time frozen at START; move it with `clock.move_to`."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def paged(incident: Incident) -> list[str]:
    """Return who was paged, in order, once per page (not per channel)."""
    rows = Delivery.objects.filter(incident=incident, purpose="page")
    seen: list[tuple[str, str]] = []
    for key, user in rows.order_by("id").values_list("event_key", "user__username"):
        if (key, user) not in seen:
            seen.append((key, user))
    return [user for _, user in seen]
