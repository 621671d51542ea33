"""Writing runbooks and external contacts (the admin and the API call these).

A runbook is written with all its steps at once: steps given on an update
replace the old ones. Incidents that already carry the runbook keep their
copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from incidents.exceptions import RunbookError
from incidents.models import (
    ExternalContact,
    Runbook,
    RunbookStep,
    Service,
    SeverityLevel,
    Team,
)

RUNBOOK_FIELDS = (
    "name",
    "description",
    "team",
    "category",
    "severity_at_least",
    "severity_at_most",
    "service",
    "enabled",
)
STEP_FIELDS = ("text", "commands", "link", "phase", "required", "external_contact")
CONTACT_FIELDS = (
    "team",
    "name",
    "kind",
    "emergency_line",
    "account_reference",
    "support_url",
    "hours",
    "notes",
)


def runbook_validate(
    *,
    team: Team | None,
    service: Service | None,
    severity_at_least: SeverityLevel | None,
    severity_at_most: SeverityLevel | None,
    steps: Sequence[dict[str, Any]],
) -> None:
    """Raise RunbookError unless the conditions and steps fit together."""
    if service is not None and service.team_id != getattr(team, "pk", None):
        raise RunbookError(
            f"service {service} belongs to team {service.team}; "
            "a runbook for it must belong to that team",
            field="service",
        )
    if (
        severity_at_least is not None
        and severity_at_most is not None
        and severity_at_most.rank > severity_at_least.rank
    ):
        raise RunbookError(
            f"no severity is both {severity_at_least.code} or more severe and "
            f"{severity_at_most.code} or less severe",
            field="severity_at_most",
        )
    if not steps:
        raise RunbookError("a runbook needs at least one step", field="steps")
    for number, step in enumerate(steps, 1):
        if not str(step.get("text", "")).strip():
            raise RunbookError(f"step {number} needs some text", field="steps")
        contact = step.get("external_contact")
        if contact is not None and contact.team_id != getattr(team, "pk", None):
            raise RunbookError(
                f"step {number}: {contact.name} is a contact of team {contact.team}; "
                "a step may name only a contact of the runbook's own team",
                field="steps",
            )


def _save(row: Runbook | ExternalContact, taken: str) -> None:
    """Save `row`; a name taken meanwhile by a concurrent request is refused."""
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise RunbookError(taken, field="name") from None


def _check_name(name: str, team: Team | None, runbook: Runbook | None) -> None:
    others = Runbook.objects.filter(name=name, team=team)
    if runbook is not None:
        others = others.exclude(pk=runbook.pk)
    if others.exists():
        where = f"team {team}" if team is not None else "the shared runbooks"
        raise RunbookError(f"{where} already have a runbook {name!r}", field="name")


def _in_order(steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the steps by their `position` when each has one, else as given."""
    if steps and all(step.get("position") is not None for step in steps):
        return sorted(steps, key=lambda step: step["position"])
    return list(steps)


def _write_steps(runbook: Runbook, steps: Sequence[dict[str, Any]]) -> None:
    runbook.steps.all().delete()
    RunbookStep.objects.bulk_create(
        RunbookStep(
            runbook=runbook,
            position=position,
            **{field: step[field] for field in STEP_FIELDS if field in step},
        )
        for position, step in enumerate(_in_order(steps), 1)
    )


@transaction.atomic
def runbook_create(
    *, name: str, steps: Sequence[dict[str, Any]], **fields: Any
) -> Runbook:
    """Create a runbook with its steps, in the order of their positions if
    each has one, else in the order given; positions become 1, 2, 3…"""
    unknown = set(fields) - set(RUNBOOK_FIELDS)
    if unknown:
        raise RunbookError(f"cannot set {', '.join(sorted(unknown))} here")
    runbook = Runbook(name=name, **fields)
    runbook_validate(
        team=runbook.team,
        service=runbook.service,
        severity_at_least=runbook.severity_at_least,
        severity_at_most=runbook.severity_at_most,
        steps=steps,
    )
    _check_name(name, runbook.team, None)
    _save(runbook, "a runbook of that name was just created")
    _write_steps(runbook, steps)
    return runbook


@transaction.atomic
def runbook_update(
    *,
    runbook: Runbook,
    steps: Sequence[dict[str, Any]] | None = None,
    **changes: Any,
) -> Runbook:
    """Change a runbook's fields; `steps`, if given, replace all its steps."""
    unknown = set(changes) - set(RUNBOOK_FIELDS)
    if unknown:
        raise RunbookError(f"cannot set {', '.join(sorted(unknown))} here")
    runbook = Runbook.objects.select_for_update().get(pk=runbook.pk)
    for field, value in changes.items():
        setattr(runbook, field, value)
    if steps is None:
        steps = [
            {field: getattr(step, field) for field in STEP_FIELDS}
            for step in runbook.steps.select_related("external_contact")
        ]
        keep_steps = True
    else:
        keep_steps = False
    runbook_validate(
        team=runbook.team,
        service=runbook.service,
        severity_at_least=runbook.severity_at_least,
        severity_at_most=runbook.severity_at_most,
        steps=steps,
    )
    _check_name(runbook.name, runbook.team, runbook)
    _save(runbook, "a runbook of that name was just created")
    if not keep_steps:
        _write_steps(runbook, steps)
    return runbook


@transaction.atomic
def runbook_delete(*, runbook: Runbook) -> None:
    """Delete a runbook; incidents keep the copies they carry."""
    runbook.delete()


def _check_contact(
    team: Team, name: str, contact: ExternalContact | None = None
) -> None:
    others = ExternalContact.objects.filter(team=team, name=name)
    if contact is not None:
        others = others.exclude(pk=contact.pk)
    if others.exists():
        raise RunbookError(
            f"team {team} already has a contact named {name!r}", field="name"
        )


@transaction.atomic
def external_contact_create(*, team: Team, name: str, **fields: Any) -> ExternalContact:
    """Add a hosting provider, vendor or other outside contact to a team."""
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise RunbookError(f"cannot set {', '.join(sorted(unknown))} here")
    _check_contact(team, name)
    contact = ExternalContact(team=team, name=name, **fields)
    _save(contact, "a contact of that name was just created")
    return contact


@transaction.atomic
def external_contact_update(
    *, contact: ExternalContact, **changes: Any
) -> ExternalContact:
    """Change an external contact; a contact stays with its team's runbooks."""
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise RunbookError(f"cannot set {', '.join(sorted(unknown))} here")
    team = changes.get("team", contact.team)
    if (
        team.pk != contact.team_id
        and RunbookStep.objects.filter(external_contact=contact).exists()
    ):
        raise RunbookError(
            f"runbook steps of team {contact.team} name {contact.name}; "
            "it cannot move to another team",
            field="team",
        )
    for field, value in changes.items():
        setattr(contact, field, value)
    _check_contact(contact.team, contact.name, contact)
    _save(contact, "a contact of that name was just created")
    return contact


@transaction.atomic
def external_contact_delete(*, contact: ExternalContact) -> None:
    """Delete an external contact; the steps that named it no longer do."""
    contact.delete()
