"""Action items: follow-up work with an owner and a due date.

Created during the incident or from its review; each change is on the
incident's timeline. An owner hears of their overdue items once a day, in
one digest: the (owner, day) claim row makes it one however many sweeps
race.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.exceptions import ReviewError, ReviewStateError
from incidents.models import ActionItem, ActionItemDigest, Incident
from incidents.selectors import user_is_member
from incidents.services.notices import person_notice_send
from incidents.services.timeline import timeline_event_record
from incidents.timeline_kinds import ACTION_ITEM_ADDED, ACTION_ITEM_CHANGED

Status = ActionItem.Status
Actor = User | None
EDITABLE = ("title", "description", "owner", "due_date", "priority", "ticket_url")


def _check_owner(incident: Incident, owner: User) -> None:
    if not owner.is_active or not user_is_member(
        user=owner, team=incident.service.team
    ):
        raise ReviewError(
            f"{owner} is not an active member of team {incident.service.team}",
            field="owner",
        )


@transaction.atomic
def action_item_create(
    *,
    incident: Incident,
    title: str,
    owner: User,
    due_date: date,
    by: Actor,
    via: str = "api",
    description: str = "",
    priority: str = ActionItem.Priority.MEDIUM,
    ticket_url: str = "",
) -> ActionItem:
    """Add an action item to the incident (or its review)."""
    if not title.strip():
        raise ReviewError("an action item needs a title", field="title")
    if incident.status == Incident.Status.CANCELLED:
        raise ReviewStateError(
            f"incident {incident.public_id} was cancelled: it has no follow-up"
        )
    _check_owner(incident, owner)
    item = ActionItem.objects.create(
        incident=incident,
        title=title.strip(),
        description=description,
        owner=owner,
        due_date=due_date,
        priority=priority,
        ticket_url=ticket_url,
        created_by=by,
    )
    timeline_event_record(
        incident=incident,
        kind=ACTION_ITEM_ADDED,
        message=f"Action item: {item.title} (owner {owner}, due {due_date:%Y-%m-%d})",
        by=by,
        via=via,
        data={"action_item": item.pk, "owner": owner.get_username()},
    )
    return item


@transaction.atomic
def action_item_update(
    *,
    item: ActionItem,
    by: Actor,
    via: str = "api",
    status: str | None = None,
    wont_do_reason: str = "",
    **changes: Any,
) -> ActionItem:
    """Edit an action item, or mark it done, won't do (with a reason) or open."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ReviewError(f"cannot edit {', '.join(sorted(unknown))} here")
    item = ActionItem.objects.select_for_update().get(pk=item.pk)
    incident = item.incident
    if "owner" in changes:
        _check_owner(incident, changes["owner"])
    changed = [f for f, value in changes.items() if getattr(item, f) != value]
    for field in changed:
        setattr(item, field, changes[field])
    if status is not None and status != item.status:
        if status == Status.WONT_DO and not wont_do_reason.strip():
            raise ReviewError("won't do needs a reason", field="wont_do_reason")
        item.status = status
        item.wont_do_reason = wont_do_reason.strip() if status == Status.WONT_DO else ""
        item.finished_at = None if status == Status.OPEN else timezone.now()
        changed.append("status")
    if not changed:
        return item
    if not item.title.strip():
        raise ReviewError("an action item needs a title", field="title")
    item.save()
    what = f"now {item.get_status_display().lower()}" if "status" in changed else ""
    if item.status == Status.WONT_DO and "status" in changed:
        what += f" — {item.wont_do_reason}"
    edited = [f.replace("_", " ") for f in changed if f != "status"]
    if edited:
        what = ", ".join(filter(None, [what, "updated " + ", ".join(edited)]))
    timeline_event_record(
        incident=incident,
        kind=ACTION_ITEM_CHANGED,
        message=f"Action item {item.title}: {what}",
        by=by,
        via=via,
        data={"action_item": item.pk, "fields": changed, "status": item.status},
    )
    return item


def action_item_completion(*, incident: Incident) -> dict[str, int]:
    """Return how many of the incident's action items are open, done, won't do."""
    counts = dict.fromkeys(Status.values, 0)
    for status in incident.action_items.values_list("status", flat=True):
        counts[status] += 1
    return counts


def _digest(owner: User, items: list[ActionItem], day: date) -> list[int]:
    lines = [
        f"- {item.incident.public_id}: {item.title} (due {item.due_date:%Y-%m-%d}, "
        f"{item.get_priority_display().lower()} priority)"
        for item in items
    ]
    person_notice_send(
        user=owner,
        event_key=f"action-items:{day:%Y-%m-%d}",
        subject=f"{len(items)} overdue action item{'s' if len(items) > 1 else ''}",
        text="These action items of post-incident reviews are past their due "
        "date:\n" + "\n".join(lines),
    )
    return [item.pk for item in items]


def action_item_digests_send(*, now: datetime | None = None) -> int:
    """Send each owner one digest of their overdue items a day (beat)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    overdue = (
        ActionItem.objects.filter(status=Status.OPEN, due_date__lt=today)
        .exclude(owner__in=ActionItemDigest.objects.filter(day=today).values("owner"))
        .select_related("incident", "owner")
        .order_by("owner_id", "due_date", "id")
    )
    by_owner: dict[int, list[ActionItem]] = {}
    for item in overdue:
        by_owner.setdefault(item.owner_id, []).append(item)
    sent = 0
    for items in by_owner.values():
        owner = items[0].owner
        try:
            with transaction.atomic():
                row = ActionItemDigest.objects.create(
                    owner=owner, day=today, claimed_at=now
                )
                row.items = _digest(owner, items, today)
                row.save(update_fields=["items"])
        except IntegrityError:
            continue  # another sweep sent today's digest
        sent += 1
    return sent
