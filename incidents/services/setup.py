"""Teams, services, integrations and the severity matrix."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
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

# Matrix fields an admin may change; code and rank identify the row.
SEVERITY_EDITABLE = (
    "name",
    "ack_target",
    "resolve_target",
    "update_cadence",
    "paged_at_declaration",
    "pir_required",
    "pir_on_repeat",
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


def service_create(
    *, name: str, team: Team, slug: str = "", description: str = ""
) -> Service:
    """Create a service owned by `team`."""
    return Service.objects.create(
        name=name, team=team, slug=slug or slugify(name), description=description
    )


def integration_create(
    *, name: str, kind: str, service: Service
) -> tuple[Integration, str]:
    """Create an integration; return it with its key, which is shown only now.

    Only a hash of the key is stored, so a leaked database does not leak the
    keys monitoring systems use to open incidents.
    """
    key = secrets.token_hex(16)  # 32 characters, as PagerDuty routing keys
    integration = Integration.objects.create(
        name=name,
        kind=kind,
        service=service,
        key_hash=Integration.hash_key(key),
        key_prefix=key[:8],
    )
    return integration, key


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
