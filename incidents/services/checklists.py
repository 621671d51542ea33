"""The verification checklist that guards resolve, and hand ticks of the
response checklist.

An incident copies its severity's verification items the first time they
are needed (read, ticked, or checked on resolve), so the list a responder
ticks is the list that guards the resolve. A severity change re-syncs a
copied list: the new severity's items are added, open items it lacks are
dropped, ticked items stay as the record of what was checked.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from config.db import own_rows
from incidents.checklist import ITEMS, PROVERS
from incidents.exceptions import (
    ChecklistStateError,
    IncidentError,
    OverrideRefusedError,
    VerificationIncompleteError,
)
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import (
    ChecklistTick,
    Incident,
    IncidentRole,
    IncidentVerificationItem,
    RoleAssignment,
    TeamMembership,
    VerificationItem,
)
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import (
    CHECKLIST_TICKED,
    CHECKLIST_UNTICKED,
    VERIFICATION_OVERRIDDEN,
    VERIFICATION_TICKED,
    VERIFICATION_UNTICKED,
)

Actor = User | None
# Verification is done while the incident is worked on or just resolved:
# a reopened incident (back to investigating) verifies again.
TICKABLE = (*OPEN_STATUSES, Incident.Status.RESOLVED)


def verification_items_ensure(*, incident: Incident) -> list[IncidentVerificationItem]:
    """Return the incident's verification items, copying its severity's first."""
    items = list(incident.verification_items.select_related("checked_by"))
    if items:
        return items
    IncidentVerificationItem.objects.bulk_create(
        [
            IncidentVerificationItem(
                incident=incident, label=item.label, position=item.position
            )
            for item in VerificationItem.objects.filter(severity=incident.severity_id)
        ],
        ignore_conflicts=True,  # a concurrent first read copied them already
    )
    return list(incident.verification_items.select_related("checked_by"))


def verification_items_resync(*, incident: Incident) -> None:
    """Bring a copied list in line with the incident's (new) severity."""
    copied = IncidentVerificationItem.objects.filter(incident=incident)
    if not copied.exists():
        return  # copied when first needed, from whatever severity it has then
    wanted = VerificationItem.objects.filter(severity=incident.severity_id)
    labels = [item.label for item in wanted]
    copied.filter(checked_at__isnull=True).exclude(label__in=labels).delete()
    IncidentVerificationItem.objects.bulk_create(
        [
            IncidentVerificationItem(
                incident=incident, label=item.label, position=item.position
            )
            for item in wanted
        ],
        ignore_conflicts=True,  # the items it already has stay as they are
    )


def verification_items_reopen(*, incident: Incident) -> None:
    """Open every item again: a reopened incident is verified afresh."""
    incident.verification_items.update(checked_at=None, checked_by=None)


def _item(incident: Incident, item_id: int) -> IncidentVerificationItem:
    # Under the incident's row lock, as resolving is: a tick or untick and a
    # resolve never pass each other.
    incident = Incident.objects.select_for_update(of=own_rows(), no_key=True).get(
        pk=incident.pk
    )
    if incident.status not in TICKABLE:
        raise ChecklistStateError(
            f"incident {incident.public_id} is {incident.status}; "
            "its verification can no longer change",
            current=incident.status,
        )
    verification_items_ensure(incident=incident)
    item = (
        IncidentVerificationItem.objects.select_for_update()
        .filter(incident=incident, pk=item_id)
        .first()
    )
    if item is None:
        raise IncidentError(
            f"incident {incident.public_id} has no verification item {item_id}",
            field="item",
        )
    return item


def _all_ticked(incident: Incident) -> bool:
    return not incident.verification_items.filter(checked_at__isnull=True).exists()


@transaction.atomic
def verification_item_tick(
    *, incident: Incident, item_id: int, by: Actor, via: str = "api"
) -> IncidentVerificationItem:
    """Tick a verification item; ticking a ticked item changes nothing."""
    item = _item(incident, item_id)
    if item.checked_at is not None:
        return item
    item.checked_at, item.checked_by = timezone.now(), by
    item.save(update_fields=["checked_at", "checked_by"])
    complete = _all_ticked(incident)
    suffix = " — verification complete" if complete else ""
    timeline_event_record(
        incident=incident,
        kind=VERIFICATION_TICKED,
        message=f"Verified: {item.label}{suffix}",
        by=by,
        via=via,
        at=item.checked_at,
        data={"item": item.pk, "label": item.label, "complete": complete},
    )
    return item


@transaction.atomic
def verification_item_untick(
    *, incident: Incident, item_id: int, by: Actor, via: str = "api"
) -> IncidentVerificationItem:
    """Untick a verification item; unticking an open item changes nothing."""
    item = _item(incident, item_id)
    if item.checked_at is None:
        return item
    item.checked_at, item.checked_by = None, None
    item.save(update_fields=["checked_at", "checked_by"])
    timeline_event_record(
        incident=incident,
        kind=VERIFICATION_UNTICKED,
        message=f"No longer verified: {item.label}",
        by=by,
        via=via,
        data={"item": item.pk, "label": item.label},
    )
    return item


def verification_open_items(*, incident: Incident) -> list[IncidentVerificationItem]:
    """Return the items that keep the incident from resolving, if its
    severity requires verification; none otherwise."""
    if not incident.severity.verification_required:
        return []
    items = verification_items_ensure(incident=incident)
    return [item for item in items if item.checked_at is None]


def verification_may_override(*, incident: Incident, user: Actor) -> bool:
    """Return whether `user` may resolve without finishing verification: the
    incident commander, a lead or manager of its team, or a superuser."""
    if user is None or not user.is_active:
        return False
    if user.is_superuser:
        return True
    commander = RoleAssignment.objects.filter(
        incident=incident, role=IncidentRole.INCIDENT_COMMANDER, user=user
    )
    leads = TeamMembership.objects.filter(
        team=incident.service.team_id,
        user=user,
        role__in=[TeamMembership.Role.LEAD, TeamMembership.Role.MANAGER],
    )
    return commander.exists() or leads.exists()


def verification_check_resolve(
    *,
    incident: Incident,
    by: Actor,
    via: str,
    override: bool = False,
    reason: str = "",
    at: datetime | None = None,
) -> None:
    """Refuse to resolve while verification items are open, unless someone
    allowed to override does so with a reason (recorded on the timeline)."""
    still_open = verification_open_items(incident=incident)
    if not still_open:
        return
    labels = [item.label for item in still_open]
    if not override:
        raise VerificationIncompleteError(
            f"{incident.severity.code} incidents are resolved after verification "
            f"(tick the items, then resolve again); still open: {'; '.join(labels)}",
            open_items=[{"id": item.pk, "label": item.label} for item in still_open],
        )
    if not verification_may_override(incident=incident, user=by):
        raise OverrideRefusedError(
            "only the incident commander or a team lead may resolve "
            "without completing verification"
        )
    if not reason.strip():
        raise IncidentError(
            "resolving without completing verification needs a reason",
            field="reason",
        )
    timeline_event_record(
        incident=incident,
        kind=VERIFICATION_OVERRIDDEN,
        message=f"Resolved without completing verification — {reason.strip()}",
        by=by,
        via=via,
        at=at,
        data={"reason": reason.strip(), "open_items": labels},
    )


@transaction.atomic
def checklist_item_tick(
    *, incident: Incident, item: str, by: Actor, via: str = "api"
) -> ChecklistTick:
    """Tick a response checklist item that the timeline cannot prove."""
    _check_hand_tickable(incident, item)
    tick, created = ChecklistTick.objects.get_or_create(
        incident=incident,
        item=item,
        defaults={"ticked_at": timezone.now(), "ticked_by": by},
    )
    if created:
        timeline_event_record(
            incident=incident,
            kind=CHECKLIST_TICKED,
            message=f"Checklist: {_label(item)}",
            by=by,
            via=via,
            at=tick.ticked_at,
            data={"item": item},
        )
    return tick


@transaction.atomic
def checklist_item_untick(
    *, incident: Incident, item: str, by: Actor, via: str = "api"
) -> None:
    """Take back a hand tick of a response checklist item."""
    _check_hand_tickable(incident, item)
    deleted, _ = ChecklistTick.objects.filter(incident=incident, item=item).delete()
    if deleted:
        timeline_event_record(
            incident=incident,
            kind=CHECKLIST_UNTICKED,
            message=f"Checklist: {_label(item)} no longer ticked",
            by=by,
            via=via,
            data={"item": item},
        )


def _label(key: str) -> str:
    return next(item.label for item in ITEMS if item.key == key)


def _check_hand_tickable(incident: Incident, key: str) -> None:
    if key not in (item.key for item in ITEMS):
        raise IncidentError(f"{key!r} is not a checklist item", field="item")
    if key in PROVERS:
        raise ChecklistStateError(
            f"{_label(key)!r} is ticked by the timeline event that proves it, "
            "not by hand",
            item=key,
        )
    if incident.status in (Incident.Status.CLOSED, Incident.Status.CANCELLED):
        raise ChecklistStateError(
            f"incident {incident.public_id} is {incident.status}; "
            "its checklist can no longer change",
            current=incident.status,
        )
