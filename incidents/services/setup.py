"""Teams, services, integrations and the severity matrix."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils.text import slugify

from incidents.exceptions import IncidentError
from incidents.models import (
    Integration,
    Service,
    SeverityLevel,
    SeverityLevelRevision,
    Team,
    TeamMembership,
)
from incidents.signals import team_member_leaving

# Matrix fields an admin may change; code and rank identify the row.
SEVERITY_EDITABLE = (
    "name",
    "ack_target",
    "resolve_target",
    "update_cadence",
    "paged_at_declaration",
    "pir_required",
    "pir_on_repeat",
    "verification_required",
    "color",
)


def team_create(*, name: str, slug: str = "") -> Team:
    """Create a team."""
    return Team.objects.create(name=name, slug=slug or slugify(name))


def team_add_member(
    *, team: Team, user: User, role: str = TeamMembership.Role.MEMBER
) -> TeamMembership:
    """Add `user` to `team`, or change their role if already a member."""
    membership, _ = TeamMembership.objects.update_or_create(
        team=team, user=user, defaults={"role": role}
    )
    return membership


def team_member_check_removable(*, team: Team, user: User) -> None:
    """Raise IncidentError while another app still needs `user` in `team`
    (escalation: while the team's on call still names them)."""
    team_member_leaving.send(Team, team=team, user=user)


@transaction.atomic
def team_remove_member(*, team: Team, user: User) -> None:
    """Take `user` out of `team`, once its on call no longer names them."""
    team_member_check_removable(team=team, user=user)
    TeamMembership.objects.filter(team=team, user=user).delete()


def service_create(
    *, name: str, team: Team, slug: str = "", description: str = ""
) -> Service:
    """Create a service owned by `team`; its slug, given or made from the name,
    addresses it and must be new."""
    slug = slug or slugify(name)
    if not slug:
        raise IncidentError(
            f"The name {name!r} makes no slug (it has no letters or digits); "
            "give a slug.",
            field="slug",
        )
    try:
        with transaction.atomic():
            return Service.objects.create(
                name=name, team=team, slug=slug, description=description
            )
    except IntegrityError:
        # The slug is unique across all teams' services.
        raise IncidentError(
            f"The slug {slug!r} is taken by another service; give another name "
            "or slug.",
            field="slug",
        ) from None


INTEGRATION_SETTINGS = (
    "name",
    "enabled",
    "auto_resolve",
    "default_severity",
    "severity_mapping",
    "field_mapping",
    "heartbeat_interval",
    "heartbeat_cron",
    "heartbeat_timezone",
    "heartbeat_grace",
)
MAPPED_FIELDS = ("title", "severity", "dedup_key", "action")


def _check_integration(kind: str, values: dict[str, Any]) -> None:
    """Raise IncidentError unless the integration's settings make sense."""
    from incidents.services.ingest import heartbeat_schedule_validate

    levels = set(SeverityLevel.objects.values_list("code", flat=True))
    if values.get("default_severity", "P2") not in levels:
        raise IncidentError("default_severity must be one of the matrix's codes",
                            field="default_severity")  # fmt: skip
    mapping = values.get("severity_mapping") or {}
    if not isinstance(mapping, dict) or any(
        not isinstance(k, str) or v not in levels for k, v in mapping.items()
    ):
        raise IncidentError(
            'severity_mapping maps sender severities to codes, e.g. {"critical": "P1"}',
            field="severity_mapping",
        )
    fields = values.get("field_mapping") or {}
    if not isinstance(fields, dict) or any(
        k not in MAPPED_FIELDS or not isinstance(v, str) or not v
        for k, v in fields.items()
    ):
        raise IncidentError(
            f"field_mapping maps {', '.join(MAPPED_FIELDS)} to dotted paths",
            field="field_mapping",
        )
    for name in ("heartbeat_interval", "heartbeat_grace"):
        value = values.get(name)
        if value is not None and value < timedelta(0):
            raise IncidentError(f"{name} cannot be negative", field=name)
    if kind == Integration.Kind.HEARTBEAT:
        if not values.get("heartbeat_interval") and not values.get("heartbeat_cron"):
            raise IncidentError(
                "a heartbeat needs heartbeat_interval or heartbeat_cron",
                field="heartbeat_interval",
            )
        heartbeat_schedule_validate(
            cron=values.get("heartbeat_cron") or "",
            tz=values.get("heartbeat_timezone") or "UTC",
        )


def integration_create(
    *, name: str, kind: str, service: Service, **settings: Any
) -> tuple[Integration, str]:
    """Create an integration; return it with its key, which is shown only now.

    Only a hash of the key is stored, so a leaked database does not leak the
    keys monitoring systems use to open incidents.
    """
    unknown = set(settings) - set(INTEGRATION_SETTINGS)
    if unknown:
        raise IncidentError(f"unknown settings: {', '.join(sorted(unknown))}")
    if kind not in Integration.Kind.values:
        raise IncidentError(f"{kind!r} is not a kind of integration", field="kind")
    _check_integration(kind, settings)
    key = secrets.token_hex(16)  # 32 characters, as PagerDuty routing keys
    integration = Integration.objects.create(
        name=name,
        kind=kind,
        service=service,
        key_hash=Integration.hash_key(key),
        key_prefix=key[:8],
        **settings,
    )
    return integration, key


@transaction.atomic
def integration_update(*, integration: Integration, **changes: Any) -> Integration:
    """Change an integration's settings (its kind and key stay)."""
    unknown = set(changes) - set(INTEGRATION_SETTINGS)
    if unknown:
        raise IncidentError(f"cannot edit {', '.join(sorted(unknown))}")
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    merged = {f: getattr(integration, f) for f in INTEGRATION_SETTINGS} | changes
    _check_integration(integration.kind, merged)
    for field, value in changes.items():
        setattr(integration, field, value)
    integration.save()
    return integration


@transaction.atomic
def severity_level_update(
    *, severity: SeverityLevel, by: User | None, **changes: Any
) -> SeverityLevel:
    """Change a row of the severity matrix, keeping its previous version."""
    unknown = set(changes) - set(SEVERITY_EDITABLE)
    if unknown:
        raise IncidentError(f"cannot edit {', '.join(sorted(unknown))}")
    severity = SeverityLevel.objects.select_for_update().get(pk=severity.pk)
    if all(getattr(severity, f) == v for f, v in changes.items()):
        return severity
    if changes.get("ack_target", severity.ack_target).total_seconds() <= 0:
        raise IncidentError("ack_target must be positive", field="ack_target")
    before = model_to_dict(severity, fields=SEVERITY_EDITABLE)
    SeverityLevelRevision.objects.create(
        severity=severity,
        version=severity.version,
        values={
            k: v.total_seconds() if hasattr(v, "total_seconds") else v
            for k, v in before.items()
        },
        changed_by=by,
    )
    for field, value in changes.items():
        setattr(severity, field, value)
    severity.version += 1
    severity.save()
    return severity
