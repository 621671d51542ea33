"""Escalation policies: create, change, delete, attach to a service.

A policy's levels and targets are written only here, and always as a whole,
so nobody ever sees a half-checked policy: positions run 1..n, every level
has a target, every target names one thing of its kind.

Every target belongs to the policy's team: users must be its active members,
a team target names the policy's own team (or its leads or managers), and a
schedule target one of its schedules. Whoever is paged can then open the
incident, since a team's incidents are shown to its members only, and no
policy reveals another team's rota or contact details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from escalation.exceptions import EscalationPolicyError, EscalationPolicyInUseError
from escalation.models import (
    ACK_TIMEOUT_RANGE,
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationTarget,
    Schedule,
)
from incidents.formatting import human_duration
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Service, SeverityLevel, Team, TeamMembership
from incidents.selectors import team_has_member

Kind = EscalationTarget.Kind
MAX_DELAY = timedelta(days=7)
MAX_REPEAT = 9
NAME_LENGTH = 100
POLICY_FIELDS = ("name", "team", "description", "repeat", "ack_timeout", "levels")
LEVEL_KEYS = {
    "position",
    "name",
    "delay",
    "up_to_severity",
    "page_at_declaration_up_to",
    "targets",
}
TARGET_KEYS = {"kind", "user", "team", "schedule", "team_role"}
NAMED_BY_KIND = {Kind.USER: "user", Kind.TEAM: "team", Kind.SCHEDULE: "schedule"}


@dataclass(frozen=True)
class _Level:
    """A checked level, ready to be written."""

    position: int
    name: str
    delay: timedelta | None
    up_to_severity: SeverityLevel | None
    page_at_declaration_up_to: SeverityLevel | None
    targets: list[EscalationTarget]


def _refuse(field: str, message: str) -> EscalationPolicyError:
    return EscalationPolicyError(f"{field}: {message}", field=field)


def _check_fields(
    *,
    name: str,
    team: Team,
    repeat: int,
    ack_timeout: timedelta | None,
    policy: EscalationPolicy | None = None,
) -> None:
    if not name.strip():
        raise _refuse("name", "a policy needs a name")
    if len(name) > NAME_LENGTH:
        raise _refuse("name", f"at most {NAME_LENGTH} characters")
    same_name = EscalationPolicy.objects.filter(team=team, name=name)
    if policy is not None:
        same_name = same_name.exclude(pk=policy.pk)
    if same_name.exists():
        raise _refuse("name", f"team {team} already has a policy named {name!r}")
    _check_numbers(repeat, ack_timeout)


def _check_numbers(repeat: int, ack_timeout: timedelta | None) -> None:
    if not 0 <= repeat <= MAX_REPEAT:
        raise _refuse("repeat", f"must be between 0 and {MAX_REPEAT}")
    low, high = ACK_TIMEOUT_RANGE
    if ack_timeout is not None and not low <= ack_timeout <= high:
        raise _refuse(
            "ack_timeout",
            f"must be between {human_duration(low)} and {human_duration(high)}, "
            "or empty for acknowledgements that do not expire",
        )


def _positions(levels: list[dict[str, Any]]) -> list[int]:
    """Return each given level's position: as given, or by list order."""
    if not levels:
        raise _refuse("levels", "a policy needs at least one level")
    given = [spec.get("position") for spec in levels]
    if all(position is None for position in given):
        return list(range(1, len(levels) + 1))
    numbers = [position for position in given if position is not None]
    if len(numbers) < len(given):
        raise _refuse("levels", "give every level a position, or none")
    if sorted(numbers) != list(range(1, len(levels) + 1)):
        shown = ", ".join(str(p) for p in numbers)
        raise _refuse(
            "levels",
            f"positions must run 1..{len(levels)} without gaps or repeats; got {shown}",
        )
    return [int(position) for position in numbers]


def _checked_target(path: str, spec: dict[str, Any], team: Team) -> EscalationTarget:
    unknown = sorted(set(spec) - TARGET_KEYS)
    if unknown:
        raise _refuse(f"{path}.{unknown[0]}", "unknown field")
    kind = spec.get("kind")
    if kind not in Kind.values:
        raise _refuse(f"{path}.kind", f"must be one of {', '.join(Kind.values)}")
    named = NAMED_BY_KIND[Kind(kind)]
    thing = spec.get(named)
    if thing is None:
        raise _refuse(f"{path}.{named}", f"a {kind} target names one {named}")
    for other in NAMED_BY_KIND.values():
        if other != named and spec.get(other) is not None:
            raise _refuse(f"{path}.{other}", f"a {kind} target names only its {named}")
    role = spec.get("team_role") or ""
    if role and kind != Kind.TEAM:
        raise _refuse(f"{path}.team_role", "only a team target has a role")
    if role not in ("", *TeamMembership.Role.values):
        roles = ", ".join(TeamMembership.Role.values)
        raise _refuse(f"{path}.team_role", f"must be empty or one of {roles}")
    if kind == Kind.USER:
        _check_member(f"{path}.user", thing, team)
    elif not _of_team(thing, team):
        # One message whether the thing is another team's or gone: the
        # answer must not tell which ids exist elsewhere.
        raise _refuse(
            f"{path}.{named}",
            f"the {named} is not of team {team}; targets belong to the policy's team",
        )
    return EscalationTarget(kind=kind, team_role=role, **{named: thing})


def _of_team(thing: Team | Schedule, team: Team) -> bool:
    if isinstance(thing, Team):
        return thing.pk == team.pk
    return Schedule.objects.filter(pk=thing.pk, team=team).exists()


def _check_member(path: str, user: User, team: Team) -> None:
    member = team_has_member(team=team, user=user)
    if not (user.is_active and member):
        raise _refuse(
            path, f"{user.get_username()} is not an active member of team {team}"
        )


def _checked_level(
    path: str, spec: dict[str, Any], position: int, team: Team
) -> _Level:
    unknown = sorted(set(spec) - LEVEL_KEYS)
    if unknown:
        raise _refuse(f"{path}.{unknown[0]}", "unknown field")
    name = spec.get("name") or ""
    if len(name) > NAME_LENGTH:
        raise _refuse(f"{path}.name", f"at most {NAME_LENGTH} characters")
    delay = spec.get("delay")
    if delay is not None and not timedelta(0) <= delay <= MAX_DELAY:
        raise _refuse(
            f"{path}.delay",
            "must be between 0 and 7 days (empty: the severity's ack target)",
        )
    up_to = spec.get("up_to_severity")
    at_declaration = spec.get("page_at_declaration_up_to")
    if up_to and at_declaration and at_declaration.rank > up_to.rank:
        raise _refuse(
            f"{path}.page_at_declaration_up_to",
            f"{at_declaration.code} is less severe than the level's "
            f"up_to_severity {up_to.code}, which it never pages",
        )
    targets = spec.get("targets") or []
    if not targets:
        raise _refuse(f"{path}.targets", "a level needs at least one target")
    return _Level(
        position=position,
        name=name,
        delay=delay,
        up_to_severity=up_to,
        page_at_declaration_up_to=at_declaration,
        targets=[
            _checked_target(f"{path}.targets[{index}]", target, team)
            for index, target in enumerate(targets)
        ],
    )


def _checked_levels(team: Team, levels: list[dict[str, Any]]) -> list[_Level]:
    positions = _positions(levels)
    checked = [
        _checked_level(f"levels[{index}]", spec, position, team)
        for index, (spec, position) in enumerate(zip(levels, positions, strict=True))
    ]
    return sorted(checked, key=lambda level: level.position)


def escalation_policy_validate(
    *,
    team: Team,
    levels: list[dict[str, Any]],
    repeat: int = 0,
    ack_timeout: timedelta | None = None,
) -> None:
    """Raise EscalationPolicyError unless `levels`, `repeat` and
    `ack_timeout` make a policy.

    For forms that show errors before anything is saved (the admin); the
    services that write check the same again.
    """
    _check_numbers(repeat, ack_timeout)
    _checked_levels(team, levels)


def policy_levels(policy: EscalationPolicy) -> list[dict[str, Any]]:
    """Return the policy's levels in the shape the services take."""
    levels = policy.levels.select_related(
        "up_to_severity", "page_at_declaration_up_to"
    ).prefetch_related("targets__user", "targets__team", "targets__schedule")
    return [
        {
            "position": level.position,
            "name": level.name,
            "delay": level.delay,
            "up_to_severity": level.up_to_severity,
            "page_at_declaration_up_to": level.page_at_declaration_up_to,
            "targets": [
                {
                    "kind": t.kind,
                    "user": t.user,
                    "team": t.team,
                    "schedule": t.schedule,
                    "team_role": t.team_role,
                }
                for t in level.targets.all()
            ],
        }
        for level in levels
    ]


def _write_levels(policy: EscalationPolicy, levels: list[_Level]) -> None:
    policy.levels.all().delete()
    for spec in levels:
        level = EscalationLevel.objects.create(
            policy=policy,
            position=spec.position,
            name=spec.name,
            delay=spec.delay,
            up_to_severity=spec.up_to_severity,
            page_at_declaration_up_to=spec.page_at_declaration_up_to,
        )
        for target in spec.targets:
            target.level = level
        EscalationTarget.objects.bulk_create(spec.targets)


@transaction.atomic
def escalation_policy_create(
    *,
    name: str,
    team: Team,
    levels: list[dict[str, Any]],
    description: str = "",
    repeat: int = 0,
    ack_timeout: timedelta | None = None,
) -> EscalationPolicy:
    """Create a policy with its levels and their targets, all checked first.

    Each level is a dict: `name`, `delay` (None: the severity's ack target),
    `up_to_severity`, `page_at_declaration_up_to`, `targets` (dicts of
    `kind` and the `user`, `team` or `schedule` it names, and `team_role`)
    and optionally `position`; without positions the list order is used.
    `ack_timeout`: how long an acknowledgement holds (None: for ever).
    """
    _check_fields(name=name, team=team, repeat=repeat, ack_timeout=ack_timeout)
    checked = _checked_levels(team, levels)
    policy = EscalationPolicy.objects.create(
        name=name,
        team=team,
        description=description,
        repeat=repeat,
        ack_timeout=ack_timeout,
    )
    _write_levels(policy, checked)
    return policy


@transaction.atomic
def escalation_policy_update(
    *, policy: EscalationPolicy, **changes: Any
) -> EscalationPolicy:
    """Change the policy's fields; `levels`, when given, replace all its levels.

    Escalations already climbing follow the new levels by position from
    their next step on. The team changes only while no service uses the
    policy, and the levels must then suit the new team.
    """
    unknown = sorted(set(changes) - set(POLICY_FIELDS))
    if unknown:
        raise TypeError(f"escalation_policy_update cannot change {unknown[0]}")
    policy = EscalationPolicy.objects.select_for_update().get(pk=policy.pk)
    team: Team = changes.get("team", policy.team)
    moved = team.pk != policy.team_id
    if moved and policy.services.exists():
        raise _refuse(
            "team",
            f"services of team {policy.team} use this policy; "
            "give them another policy first",
        )
    _check_fields(
        name=changes.get("name", policy.name),
        team=team,
        repeat=changes.get("repeat", policy.repeat),
        ack_timeout=changes.get("ack_timeout", policy.ack_timeout),
        policy=policy,
    )
    levels = changes.pop("levels", None)
    if levels is None and moved:
        levels = policy_levels(policy)
    checked = _checked_levels(team, levels) if levels is not None else None
    for field, value in changes.items():
        setattr(policy, field, value)
    policy.save()
    if checked is not None:
        _write_levels(policy, checked)
    return policy


@transaction.atomic
def escalation_policy_delete(*, policy: EscalationPolicy) -> None:
    """Delete a policy that no service uses and no open incident follows."""
    services = sorted(policy.services.values_list("slug", flat=True))
    if services:
        raise EscalationPolicyInUseError(
            f"policy {policy} is the escalation policy of {', '.join(services)}; "
            "give them another policy first",
            services=services,
        )
    incidents = sorted(
        Escalation.objects.filter(
            policy=policy, incident__status__in=OPEN_STATUSES
        ).values_list("incident__public_id", flat=True)
    )
    if incidents:
        raise EscalationPolicyInUseError(
            f"open incidents follow policy {policy}: {', '.join(incidents)}; "
            "delete it once they are resolved",
            incidents=incidents,
        )
    policy.delete()


@transaction.atomic
def service_set_escalation_policy(
    *, service: Service, policy: EscalationPolicy | None
) -> Service:
    """Make `policy` the service's escalation policy; None: nobody is paged.

    Incidents already declared keep the policy they started with.
    """
    if policy is not None and policy.team_id != service.team_id:
        raise _refuse(
            "policy",
            f"policy {policy} belongs to team {policy.team}; service {service} "
            f"to team {service.team}",
        )
    service.escalation_policy = policy
    service.save(update_fields=["escalation_policy"])
    return service
