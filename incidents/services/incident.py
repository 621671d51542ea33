"""Declaring an incident and moving it through its lifecycle.

Over 400 lines on purpose: declaring, transitions, severity, roles, notes
and edits share the lock, the validation and the timeline helpers here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from config.db import own_rows
from incidents.exceptions import (
    IllegalTransitionError,
    IncidentError,
    InvalidAssigneeError,
)
from incidents.lifecycle import ACKNOWLEDGING, allowed_next
from incidents.models import (
    Incident,
    IncidentDaySequence,
    IncidentRole,
    RoleAssignment,
    Service,
    SeverityLevel,
    TimelineEvent,
)
from incidents.selectors import user_is_member
from incidents.services.announce import (
    ANNOUNCED_STATUSES,
    status_update_record,
    update_clock_resync,
)
from incidents.services.checklists import (
    verification_check_resolve,
    verification_items_reopen,
    verification_items_resync,
)
from incidents.services.reviews import review_check_close, review_decide
from incidents.services.runbooks import incident_runbooks_attach_matching
from incidents.services.timeline import timeline_event_record
from incidents.signals import (
    incident_declared,
    incident_severity_raised,
    incident_status_changed,
)
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CREATED,
    FIELDS_UPDATED,
    NOTE,
    ROLE_ASSIGNED,
    SERVICE_CHANGED,
    SEVERITY_CHANGED,
    STATUS_CHANGED,
)

S = Incident.Status
Actor = User | None

# What a declaration takes besides who declares it and through what.
DECLARATION_FIELDS = (
    "title",
    "severity",
    "service",
    "summary",
    "category",
    "detection_source",
    "started_at",
    "detected_at",
    "affected_services",
    "users_affected",
    "impact",
    "is_drill",
)
# Fields a responder may edit directly; status, severity and roles have their
# own services because each change of those means something on the timeline.
EDITABLE_FIELDS = (
    "title",
    "service",
    "summary",
    "category",
    "detection_source",
    "started_at",
    "users_affected",
    "impact",
    "root_cause",
    "resolution_type",
    "is_public",
    "public_title",
)


def _next_public_id(declared_at: datetime) -> str:
    """Return the next `INC-YYYY-MM-DD-NNN` for the day of `declared_at`.

    One upsert statement both creates the day's counter and increments it, so
    concurrent declarations serialise on the counter row and never share a
    number (PostgreSQL row lock; SQLite's IMMEDIATE write lock).
    """
    day = timezone.localtime(declared_at).date()
    table = connection.ops.quote_name(IncidentDaySequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [day],
        )
        (number,) = cursor.fetchone()
    return f"INC-{day:%Y-%m-%d}-{number:03d}"


def locked(incident: Incident) -> Incident:
    """Re-read the incident under a row lock, so concurrent changes queue.

    Without a join: PostgreSQL re-checks a locked row that a concurrent
    transaction changed against the joined rows it read before, so a
    severity changed meanwhile would make the incident vanish from the
    answer (DoesNotExist) instead of being waited for.
    """
    return Incident.objects.select_for_update(of=own_rows(), no_key=True).get(
        pk=incident.pk
    )


@transaction.atomic
def incident_create(
    *,
    title: str,
    severity: SeverityLevel,
    service: Service,
    by: Actor = None,
    via: str = "api",
    summary: str = "",
    category: str = Incident.Category.OTHER,
    detection_source: str = Incident.DetectionSource.TEAM_MEMBER,
    started_at: datetime | None = None,
    detected_at: datetime | None = None,
    affected_services: Iterable[Service] = (),
    users_affected: int | None = None,
    impact: str = "",
    is_drill: bool = False,
) -> Incident:
    """Declare an incident: give it its public id and open its timeline."""
    now = timezone.now()
    detected_at = detected_at or now
    started_at = started_at or detected_at
    if started_at > detected_at:
        raise IncidentError(
            "started_at (when impact began) cannot be after detected_at",
            field="started_at",
        )
    if detected_at > now:
        raise IncidentError("detected_at cannot be in the future", field="detected_at")
    incident = Incident.objects.create(
        public_id=_next_public_id(now),
        title=title,
        summary=summary,
        severity=severity,
        service=service,
        category=category,
        detection_source=detection_source,
        started_at=started_at,
        detected_at=detected_at,
        users_affected=users_affected,
        impact=impact,
        is_drill=is_drill,
        created_by=by,
        created_at=now,
    )
    # A new incident has none yet: adding them is setting them, without
    # the read of the ones it has.
    incident.affected_services.add(*affected_services)
    drill = "[DRILL] " if is_drill else ""
    declared = timeline_event_record(
        incident=incident,
        kind=CREATED,
        message=f"{drill}Incident declared: {severity.code} {severity.name} — {title} "
        f"(detected via {incident.get_detection_source_display().lower()})",
        by=by,
        via=via,
        at=now,
        data={"severity": severity.code, "service": service.slug},
    )
    incident_runbooks_attach_matching(
        incident=incident, by=by, via=via, reason="declared"
    )
    status_update_record(
        incident=incident,
        by=by,
        via=via,
        at=now,
        message_kind="initial",
        text=summary or f"Incident declared: {title}",
        impact=impact,
    )
    incident_declared.send(Incident, incident=incident, event=declared)
    return incident


@transaction.atomic
def incident_transition(
    *,
    incident: Incident,
    to: str,
    by: Actor,
    via: str = "api",
    reason: str = "",
    at: datetime | None = None,
    override_verification: bool = False,
    announce: bool = True,
) -> Incident:
    """Move the incident to status `to`, or raise IllegalTransitionError.

    Every resolve passes the verification guard: a severity that requires
    it refuses with VerificationIncompleteError while items are open, unless
    `override_verification` is asked, with a reason, by someone allowed.
    A move that is news (identified, mitigating, monitoring, resolved)
    posts a status update, unless the caller posts its own (`announce`).
    """
    if to not in S.values:
        raise IncidentError(f"{to!r} is not a status", field="status")
    incident = locked(incident)
    before = incident.status
    if to not in allowed_next(before):
        allowed = list(allowed_next(before))
        hint = f"; allowed: {', '.join(allowed)}" if allowed else "; it is final"
        raise IllegalTransitionError(
            f"cannot move incident {incident.public_id} from {before} to {to}{hint}",
            current=before,
            requested=to,
            allowed=allowed,
        )
    if to == S.CANCELLED and not reason.strip():
        raise IncidentError(
            "cancelling needs a reason (why it was not a real incident)",
            field="reason",
        )
    at = at or timezone.now()
    if to == S.RESOLVED:
        verification_check_resolve(
            incident=incident,
            by=by,
            via=via,
            override=override_verification,
            reason=reason,
            at=at,
        )
    elif before == S.RESOLVED and to == S.INVESTIGATING:  # reopened
        verification_items_reopen(incident=incident)
    elif to == S.CLOSED:
        review_check_close(incident=incident)
    _apply_status(incident, to, at)
    incident.save()
    label = S(to).label
    message = (
        f"Acknowledged by {by}"
        if to == S.ACKNOWLEDGED and by is not None
        else f"Status: {S(before).label} → {label}"
    )
    if reason:
        message += f" — {reason}"
    event = timeline_event_record(
        incident=incident,
        kind=ACKNOWLEDGED if to == S.ACKNOWLEDGED else STATUS_CHANGED,
        message=message,
        by=by,
        via=via,
        at=at,
        data={"from": before, "to": to, "reason": reason},
    )
    if announce and to in ANNOUNCED_STATUSES:
        status_update_record(
            incident=incident,
            by=by,
            via=via,
            at=at,
            message_kind="resolution" if to == S.RESOLVED else "update",
            text=reason or f"Status: {label}",
            impact=incident.impact,
        )
    else:
        update_clock_resync(incident=incident, at=at)
    if to == S.RESOLVED:
        review_decide(incident=incident, by=by, via=via, at=at)
    incident_status_changed.send(
        Incident,
        incident=incident,
        event=event,
        before=before,
        by=by,
        reason=reason,
    )
    return incident


def _apply_status(incident: Incident, to: str, at: datetime) -> None:
    """Set the status and the lifecycle timestamps that moving to it implies."""
    incident.status = to
    if to in ACKNOWLEDGING and incident.acknowledged_at is None:
        incident.acknowledged_at = at
    if to == S.TRIGGERED:  # un-acknowledged: nobody is on it any more
        incident.acknowledged_at = None
    if to in (S.MONITORING, S.RESOLVED) and incident.mitigated_at is None:
        incident.mitigated_at = at
    if to == S.RESOLVED:
        incident.resolved_at = at
    if to == S.INVESTIGATING and incident.resolved_at is not None:  # reopened
        incident.resolved_at = None
        incident.mitigated_at = None
    if to in (S.CLOSED, S.CANCELLED):
        incident.closed_at = at


@transaction.atomic
def incident_acknowledge(
    *, incident: Incident, by: Actor, via: str = "api", at: datetime | None = None
) -> Incident:
    """Acknowledge a triggered incident."""
    incident = locked(incident)
    if incident.status != S.TRIGGERED:
        raise IllegalTransitionError(
            f"incident {incident.public_id} is already {incident.status}; "
            "only a triggered incident can be acknowledged",
            current=incident.status,
            requested=S.ACKNOWLEDGED,
        )
    return incident_transition(
        incident=incident, to=S.ACKNOWLEDGED, by=by, via=via, at=at
    )


@transaction.atomic
def incident_change_severity(
    *,
    incident: Incident,
    severity: SeverityLevel,
    by: Actor,
    via: str = "api",
    reason: str = "",
) -> Incident:
    """Raise or lower the incident's severity."""
    incident = locked(incident)
    if incident.status in (S.CLOSED, S.CANCELLED):
        raise IllegalTransitionError(
            f"incident {incident.public_id} is {incident.status}; "
            "its severity can no longer change",
            current=incident.status,
        )
    before = incident.severity
    if before.pk == severity.pk:
        raise IncidentError(
            f"incident {incident.public_id} is already {severity.code}",
            field="severity",
        )
    incident.severity = severity
    incident.save(update_fields=["severity", "updated_at"])
    update_clock_resync(incident=incident, at=timezone.now())
    verification_items_resync(incident=incident)
    direction = "raised" if severity.rank < before.rank else "lowered"
    message = f"Severity {direction}: {before.code} → {severity.code}"
    if reason:
        message += f" — {reason}"
    timeline_event_record(
        incident=incident,
        kind=SEVERITY_CHANGED,
        message=message,
        by=by,
        via=via,
        data={"from": before.code, "to": severity.code, "reason": reason},
    )
    incident_runbooks_attach_matching(
        incident=incident, by=by, via=via, reason=f"severity {severity.code}"
    )
    if direction == "raised":
        incident_severity_raised.send(Incident, incident=incident)
    return incident


@transaction.atomic
def incident_assign_role(
    *,
    incident: Incident,
    role: str,
    user: User,
    by: Actor,
    via: str = "api",
    reason: str = "",
) -> RoleAssignment:
    """Give `role` on the incident to `user`, handing it over if it was held."""
    if role not in IncidentRole.values:
        raise IncidentError(f"{role!r} is not an incident role", field="role")
    incident = locked(incident)
    if not user.is_active or not user_is_member(user=user, team=incident.service.team):
        raise InvalidAssigneeError(
            f"{user} is not an active member of team {incident.service.team}",
            field="user",
        )
    current = RoleAssignment.objects.filter(incident=incident, role=role).first()
    if current is not None and current.user_id == user.pk:
        raise IncidentError(
            f"{user} already is {IncidentRole(role).label}", field="user"
        )
    now = timezone.now()
    assignment, _ = RoleAssignment.objects.update_or_create(
        incident=incident,
        role=role,
        defaults={"user": user, "assigned_at": now, "assigned_by": by},
    )
    if incident.restricted:  # who holds a role sees what they work on
        incident.named_responders.add(user)
    label = IncidentRole(role).label
    previous = current.user if current is not None else None
    message = (
        f"{label} handed over: {previous} → {user}"
        if previous is not None
        else f"{label} assigned: {user}"
    )
    if reason:
        message += f" — {reason}"
    timeline_event_record(
        incident=incident,
        kind=ROLE_ASSIGNED,
        message=message,
        by=by,
        via=via,
        at=now,
        data={
            "role": role,
            "user": user.get_username(),
            "previous": previous.get_username() if previous is not None else None,
            "reason": reason,
        },
    )
    return assignment


def incident_add_note(
    *,
    incident: Incident,
    text: str,
    by: Actor,
    via: str = "api",
    note_kind: str = TimelineEvent.NoteKind.NOTE,
) -> TimelineEvent:
    """Add a note (or hypothesis, action, decision) to the timeline."""
    if not text.strip():
        raise IncidentError("a note needs some text", field="text")
    if note_kind not in TimelineEvent.NoteKind.values:
        raise IncidentError(f"{note_kind!r} is not a kind of note", field="kind")
    return timeline_event_record(
        incident=incident,
        kind=NOTE,
        message=text.strip(),
        by=by,
        via=via,
        data={"note_kind": note_kind},
    )


@transaction.atomic
def incident_update(
    *, incident: Incident, by: Actor, via: str = "api", **changes: Any
) -> Incident:
    """Edit the incident's descriptive fields and record what changed.

    A new category or service attaches the runbooks the incident now meets;
    the service moves within the incident's team only (its team decides who
    sees and works it)."""
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"affected_services"}
    if unknown:
        raise IncidentError(f"cannot edit {', '.join(sorted(unknown))} here")
    incident = locked(incident)
    before_service = incident.service
    if "service" in changes and changes["service"].team_id != before_service.team_id:
        raise IncidentError(
            f"service {changes['service'].slug} belongs to another team than "
            f"{before_service.team}; an incident stays with its team",
            field="service",
        )
    changed: list[str] = []
    for field, value in changes.items():
        if field == "affected_services":
            if set(incident.affected_services.all()) != set(value):
                incident.affected_services.set(value)
                changed.append(field)
        elif getattr(incident, field) != value:
            setattr(incident, field, value)
            changed.append(field)
    if incident.started_at > incident.detected_at:
        raise IncidentError(
            "started_at (when impact began) cannot be after detected_at",
            field="started_at",
        )
    if not changed:
        return incident
    incident.save()
    details = [f for f in changed if f != "service"]
    if details:
        names = ", ".join(f.replace("_", " ") for f in details)
        timeline_event_record(
            incident=incident,
            kind=FIELDS_UPDATED,
            message=f"Updated {names}",
            by=by,
            via=via,
            data={"fields": details},
        )
    if "service" in changed:
        timeline_event_record(
            incident=incident,
            kind=SERVICE_CHANGED,
            message=f"Service: {before_service.name} → {incident.service.name}",
            by=by,
            via=via,
            data={"from": before_service.slug, "to": incident.service.slug},
        )
    reasons = []
    if "category" in changed:
        reasons.append(f"category {incident.get_category_display().lower()}")
    if "service" in changed:
        reasons.append(f"service {incident.service.slug}")
    if reasons:
        incident_runbooks_attach_matching(
            incident=incident, by=by, via=via, reason=", ".join(reasons)
        )
    return incident
