"""Reads of the escalation app: who is on call, the schedules' shifts, and
the escalation policies and state of the user's teams.

The times come from `escalation.oncall`, which never touches the database;
these functions load what it needs and turn its ids back into rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Prefetch, Q, QuerySet

from escalation import oncall
from escalation.models import (
    CalendarFeed,
    Drill,
    DrillMode,
    DrillScenario,
    DrillSchedule,
    Escalation,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Layer,
    LayerMember,
    Override,
    Schedule,
)
from escalation.oncall import Shift
from incidents.models import Incident, Team
from incidents.selectors import incident_list, team_list

Viewer = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class ShiftDetail:
    """A final shift with its rows: whose it is and where it came from."""

    schedule: Schedule
    start: datetime
    end: datetime
    user: User
    layer: Layer | None
    override: Override | None

    @property
    def source(self) -> str:
        return "override" if self.override is not None else "layer"


@dataclass(frozen=True)
class OncallReport:
    """Who is on call at `at`, and the shift that covers it (none in a gap)."""

    at: datetime
    users: list[User]
    shifts: list[ShiftDetail] = field(default_factory=list)


@dataclass(frozen=True)
class _Loaded:
    spec: oncall.ScheduleSpec
    layers: dict[int, Layer]
    overrides: dict[int, Override]


# Layers lowest first, members in turn order: what the API and admin show.
LAYERS = Prefetch(
    "layers",
    queryset=Layer.objects.order_by("position").prefetch_related(
        Prefetch("members", queryset=LayerMember.objects.select_related("user")),
        "restrictions",
    ),
)


def schedule_list(*, user: Viewer) -> QuerySet[Schedule]:
    """Return the schedules of `user`'s teams (every one for a superuser)."""
    schedules = Schedule.objects.select_related("team").prefetch_related(LAYERS)
    return schedules.filter(team__in=team_list(user=user))


def schedule_get_by_token(*, token: str) -> Schedule | None:
    """Return the schedule whose iCal feed secret is `token`, if any."""
    return Schedule.objects.filter(ical_token=token).first()


def calendar_feed_get_by_token(*, token: str) -> CalendarFeed | None:
    """Return the user calendar feed whose secret is `token`, if any."""
    return CalendarFeed.objects.select_related("user").filter(token=token).first()


def override_list(*, schedule: Schedule) -> QuerySet[Override]:
    """Return the schedule's overrides, earliest first."""
    return schedule.overrides.select_related(
        "user", "covered_user", "created_by"
    ).order_by("start", "id")


def _load(schedule: Schedule, start: datetime, end: datetime) -> _Loaded:
    """Load the schedule's layers and the overrides that overlap [start, end)."""
    layers = {
        layer.pk: layer
        for layer in Layer.objects.filter(schedule=schedule)
        .prefetch_related("members", "restrictions")
        .order_by("position")
    }
    overrides = {
        o.pk: o
        for o in Override.objects.filter(
            schedule=schedule, end__gt=start, start__lt=end
        )
        # Oldest first: where overrides overlap, the newest wins.
        .order_by("created_at", "id")
    }
    spec = oncall.ScheduleSpec(
        time_zone=schedule.time_zone,
        layers=tuple(_layer_spec(layer) for layer in layers.values()),
        overrides=tuple(
            oncall.OverrideSpec(o.pk, o.user_id, o.start, o.end, o.covered_user_id)
            for o in overrides.values()
        ),
    )
    return _Loaded(spec, layers, overrides)


def _layer_spec(layer: Layer) -> oncall.LayerSpec:
    members = sorted(layer.members.all(), key=lambda member: member.position)
    return oncall.LayerSpec(
        id=layer.pk,
        name=layer.name,
        position=layer.position,
        start=datetime.combine(layer.start_date, layer.handoff_time),
        shift_count=layer.shift_count,
        shift_unit=layer.shift_unit,
        members=tuple(member.user_id for member in members),
        restrictions=tuple(r.window for r in layer.restrictions.all()),
    )


def _users(ids: list[int]) -> dict[int, User]:
    return User.objects.in_bulk(ids)


def _details(
    schedule: Schedule, loaded: _Loaded, shifts: list[Shift]
) -> list[ShiftDetail]:
    users = _users([shift.user_id for shift in shifts])
    return [
        ShiftDetail(
            schedule=schedule,
            start=shift.start,
            end=shift.end,
            user=users[shift.user_id],
            layer=loaded.layers.get(shift.layer or 0),
            override=loaded.overrides.get(shift.override or 0),
        )
        for shift in shifts
    ]


def schedule_oncall(*, schedule: Schedule, at: datetime) -> list[User]:
    """Return the users on call at `at`; an empty list means nobody (a gap)."""
    loaded = _load(schedule, at, at + oncall.TICK)
    ids = oncall.oncall_at(loaded.spec, at)
    users = _users(ids)
    return [users[user_id] for user_id in ids]


def schedule_shifts(*, schedule: Schedule, start: datetime, count: int) -> list[Shift]:
    """Return the next `count` final shifts from `start`, the one in progress first."""
    loaded = _load(schedule, start - oncall.MAX_REACH, oncall.LATEST)
    return oncall.next_shifts(loaded.spec, start, count)


def schedule_shift_details(
    *, schedule: Schedule, start: datetime, count: int
) -> list[ShiftDetail]:
    """Return `schedule_shifts` with their users, layers and overrides."""
    loaded = _load(schedule, start - oncall.MAX_REACH, oncall.LATEST)
    return _details(schedule, loaded, oncall.next_shifts(loaded.spec, start, count))


def schedule_oncall_report(*, schedule: Schedule, at: datetime) -> OncallReport:
    """Return who is on call at `at` and the shift covering it, with its source."""
    loaded = _load(schedule, at - oncall.MAX_REACH, at + oncall.MAX_REACH)
    covering = [
        shift
        for shift in oncall.shifts_overlapping(loaded.spec, at, at + oncall.TICK)
        if shift.start <= at
    ]
    ids = oncall.oncall_at(loaded.spec, at)
    users = _users(ids)
    return OncallReport(
        at=at,
        users=[users[user_id] for user_id in ids],
        shifts=_details(schedule, loaded, covering),
    )


def schedule_feed_shifts(
    *, schedule: Schedule, start: datetime, end: datetime
) -> list[ShiftDetail]:
    """Return the final shifts that overlap [start, end), with their real ends."""
    reach = oncall.MAX_REACH
    loaded = _load(schedule, start - reach, end + reach)
    shifts = oncall.shifts_overlapping(loaded.spec, start, end)
    return _details(schedule, loaded, shifts)


def user_feed_shifts(
    *, user: User, start: datetime, end: datetime
) -> list[ShiftDetail]:
    """Return `user`'s shifts in every schedule over [start, end), in order."""
    schedules = Schedule.objects.filter(
        Q(layers__members__user=user) | Q(overrides__user=user)
    ).distinct()
    mine = [
        shift
        for schedule in schedules
        for shift in schedule_feed_shifts(schedule=schedule, start=start, end=end)
        if shift.user.pk == user.pk
    ]
    return sorted(mine, key=lambda shift: (shift.start, shift.schedule.pk))


def user_on_call_throughout(
    *, schedule: Schedule, user: User, start: datetime, end: datetime
) -> bool:
    """Return whether `user` alone is on call from `start` to `end`, without a gap."""
    loaded = _load(schedule, start, end)
    found = oncall.shifts(loaded.spec, start, end)
    return (
        bool(found)
        and found[0].start == start
        and found[-1].end == end
        and all(shift.user_id == user.pk for shift in found)
        and all(a.end == b.start for a, b in pairwise(found))
    )


def team_member_choices(*, team: Team) -> QuerySet[User]:
    """Return the users who may take turns in `team`'s schedules."""
    return User.objects.filter(is_active=True, memberships__team=team).order_by(
        "username"
    )


def team_member_duties(*, team: Team, user: User, now: datetime) -> list[str]:
    """Return what of `team`'s on call still names `user`: turns in its
    schedules' layers, overrides not yet over and targets of its policies.

    Each would go on paging `user` for the team after they left it, so a
    membership is not removed while this is not empty.
    """
    turns = LayerMember.objects.filter(layer__schedule__team=team, user=user)
    layers = {
        f"a turn in schedule {m.layer.schedule.name}, layer {m.layer.name}": None
        for m in turns.select_related("layer__schedule").order_by("layer_id")
    }
    overrides = Override.objects.filter(
        schedule__team=team, user=user, end__gt=now
    ).select_related("schedule")
    targets = EscalationTarget.objects.filter(
        kind=EscalationTarget.Kind.USER, user=user, level__policy__team=team
    ).select_related("level__policy")
    return [
        *layers,
        *(
            f"an override in schedule {o.schedule.name}, "
            f"until {o.end:%Y-%m-%d %H:%M} UTC"
            for o in overrides
        ),
        *(
            f"a target of policy {t.level.policy.name}, level {t.level.position}"
            for t in targets.order_by("level__policy__name", "level__position")
        ),
    ]


def schedule_people(*, user: Viewer) -> QuerySet[User]:
    """Return the users of `user`'s teams (everyone for a superuser)."""
    return User.objects.filter(memberships__team__in=team_list(user=user)).distinct()


def schedule_zone(*, schedule: Schedule) -> ZoneInfo:
    """Return the schedule's time zone."""
    return ZoneInfo(schedule.time_zone)


# --- Escalation policies and state ------------------------------------------------


def escalation_policy_list(
    *, user: AbstractBaseUser | AnonymousUser
) -> QuerySet[EscalationPolicy]:
    """Return the policies of `user`'s teams, with their levels and targets."""
    return (
        EscalationPolicy.objects.filter(team__in=team_list(user=user))
        .select_related("team")
        .prefetch_related(
            "services",
            "levels__up_to_severity",
            "levels__page_at_declaration_up_to",
            "levels__targets__user",
            "levels__targets__team",
            "levels__targets__schedule",
        )
    )


def escalation_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Escalation]:
    """Return the escalations of `user`'s teams' incidents, newest first."""
    return Escalation.objects.filter(
        incident__in=incident_list(user=user)
    ).select_related("incident", "incident__severity", "policy")


def escalation_get(*, incident: Incident) -> Escalation | None:
    """Return the incident's escalation with its steps, or None before it starts."""
    return (
        Escalation.objects.filter(incident=incident)
        .select_related("incident", "policy")
        .prefetch_related("steps__by")
        .first()
    )


def escalation_standing(*, escalation: Escalation) -> str:
    """Say where the escalation stands, and whether anybody was paged: an
    escalation past its last level that paged nobody says so."""
    paged = any(
        step.outcome == EscalationStep.Outcome.PAGED for step in escalation.steps.all()
    )
    if escalation.state == Escalation.State.EXHAUSTED and not paged:
        return "Every level tried; nobody had anyone to page"
    standing = str(escalation.get_state_display())
    return standing if paged else f"{standing}; nobody paged yet"


def _target_said(target: EscalationTarget) -> str:
    if target.kind == EscalationTarget.Kind.USER and target.user is not None:
        return str(target.user.get_full_name() or target.user.get_username())
    return str(target)


def escalation_policy_chain(*, policy: EscalationPolicy) -> str:
    """The policy's levels on one line: who each pages, in order."""
    levels = policy.levels.order_by("position").prefetch_related(
        "targets__user", "targets__team", "targets__schedule"
    )
    said = []
    for level in levels:
        targets = ", ".join(_target_said(t) for t in level.targets.all())
        name = f" {level.name}" if level.name else ""
        said.append(f"L{level.position}{name}: {targets or 'nobody'}")
    return " → ".join(said) or "no levels"


def drill_scenario_list() -> QuerySet[DrillScenario]:
    """Return the scenario library (shared by every team)."""
    return DrillScenario.objects.select_related("severity", "service")


def drill_list(*, user: Viewer) -> QuerySet[Drill]:
    """Return the drills of `user`'s teams, latest first."""
    drills = Drill.objects.select_related(
        "scenario", "team", "service", "schedule", "incident", "started_by"
    )
    return drills.filter(team__in=team_list(user=user))


def drill_schedule_list(*, user: Viewer) -> QuerySet[DrillSchedule]:
    """Return the drill schedules of `user`'s teams."""
    schedules = DrillSchedule.objects.select_related("team", "scenario")
    return schedules.filter(team__in=team_list(user=user))


def drill_walks_chain(*, incident_id: int) -> bool:
    """Return whether the incident is a running "escalate, don't acknowledge"
    drill's: its acknowledgements do not stop the climb.

    Its drill is found by the alert it fired too: the link to the incident
    is recorded by the drills sweep, maybe after the first acknowledgement.
    """
    return Drill.objects.filter(
        Q(incident_id=incident_id) | Q(alert_event__incident_id=incident_id),
        mode=DrillMode.WALK_CHAIN,
        state=Drill.State.RUNNING,
    ).exists()
