"""The response protocol's "During Incident" checklist, read off the timeline.

Each item is either proved by a timeline event (a *prover* finds it) or
ticked by hand. Proved items are computed on every read, never stored, so
they cannot drift from what happened; hand ticks are stored with who and
when. A feature that starts recording the proof of an item registers one
function here, and the item stops being ticked by hand:

    @prover("status_updates")
    def _status_updates(incident, events):
        ...return the event that proves it, or None
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from incidents.lifecycle import ACKNOWLEDGING
from incidents.models import (
    ChecklistTick,
    Incident,
    IncidentRole,
    IncidentVerificationItem,
    TimelineEvent,
)
from incidents.timeline_kinds import (
    ACKNOWLEDGED,
    CREATED,
    ROLE_ASSIGNED,
    SEVERITY_CHANGED,
    STATUS_CHANGED,
    VERIFICATION_TICKED,
)

S = Incident.Status
Prover = Callable[[Incident, Sequence[TimelineEvent]], TimelineEvent | None]

# The kind of the entries notifications writes for a message sent
# (notifications/timeline_kinds.py); the checklist reads them by value, as
# the incident core calls no app above it.
NOTIFICATION_SENT_KIND = "notification_sent"


def _always(incident: Incident) -> bool:
    return True


def _major(incident: Incident) -> bool:
    # A war room is the SOP's answer for P0 and P1, the two most severe ranks.
    return incident.severity.rank <= 1


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    applies: Callable[[Incident], bool] = field(default=_always)


ITEMS: tuple[ChecklistItem, ...] = (
    ChecklistItem("acknowledged", "Incident detected and acknowledged"),
    ChecklistItem("severity_assessed", "Severity assessed"),
    ChecklistItem("ticket_created", "Incident ticket created"),
    ChecklistItem("ic_assigned", "IC assigned"),
    ChecklistItem("initial_notification", "Initial notification sent"),
    ChecklistItem("war_room", "War room established (if P0/P1)", _major),
    ChecklistItem("timeline_started", "Timeline document started"),
    ChecklistItem("investigation_begun", "Investigation begun"),
    ChecklistItem("status_updates", "Status updates sent regularly"),
    ChecklistItem("resolution_implemented", "Resolution implemented"),
    ChecklistItem("verification_complete", "Verification complete"),
    ChecklistItem("resolution_notification", "Resolution notification sent"),
    ChecklistItem("incident_closed", "Incident closed"),
)
ITEM_KEYS = tuple(item.key for item in ITEMS)

PROVERS: dict[str, Prover] = {}


def prover(key: str) -> Callable[[Prover], Prover]:
    """Register the function that finds the event proving checklist item `key`."""
    if key not in ITEM_KEYS:
        raise ValueError(f"{key!r} is not a checklist item")

    def register(function: Prover) -> Prover:
        PROVERS[key] = function
        return function

    return register


def _first(
    events: Sequence[TimelineEvent], test: Callable[[TimelineEvent], bool]
) -> TimelineEvent | None:
    return next((event for event in events if test(event)), None)


def _status_reached(
    events: Sequence[TimelineEvent], statuses: Sequence[str]
) -> TimelineEvent | None:
    return _first(
        events,
        lambda e: (
            e.kind in (ACKNOWLEDGED, STATUS_CHANGED) and e.data.get("to") in statuses
        ),
    )


def _sent(events: Sequence[TimelineEvent], message_kind: str) -> TimelineEvent | None:
    return _first(
        events,
        lambda e: (
            e.kind == NOTIFICATION_SENT_KIND
            and e.data.get("message_kind") == message_kind
        ),
    )


@prover("acknowledged")
def _acknowledged(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    return _status_reached(events, ACKNOWLEDGING)


@prover("severity_assessed")
def _severity_assessed(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    # Every declaration states a severity; a later change re-assesses it.
    return _first(
        events,
        lambda e: e.kind in (CREATED, SEVERITY_CHANGED),
    )


@prover("ticket_created")
@prover("timeline_started")
def _declared(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    # The incident is the ticket, and declaring it opens its timeline.
    return _first(events, lambda e: e.kind == CREATED)


@prover("ic_assigned")
def _ic_assigned(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    return _first(
        events,
        lambda e: (
            e.kind == ROLE_ASSIGNED
            and e.data.get("role") == IncidentRole.INCIDENT_COMMANDER
        ),
    )


@prover("initial_notification")
@prover("war_room")
def _initial_sent(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    # The initial notification names the war room channel and links the
    # incident's live page: once it is out, responders know where to gather.
    return _sent(events, "initial")


@prover("investigation_begun")
def _investigating(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    return _status_reached(
        events, (S.INVESTIGATING, S.IDENTIFIED, S.MITIGATING, S.MONITORING)
    )


@prover("resolution_implemented")
def _implemented(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    return _status_reached(events, (S.MONITORING, S.RESOLVED))


@prover("verification_complete")
def _verified(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    # Complete while every copied item is ticked; the last tick proves it.
    items = IncidentVerificationItem.objects.filter(incident=incident)
    if not items.exists() or items.filter(checked_at__isnull=True).exists():
        return None
    ticks = [e for e in events if e.kind == VERIFICATION_TICKED]
    return ticks[-1] if ticks else None


@prover("resolution_notification")
def _resolution_sent(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    return _sent(events, "resolution")


@prover("incident_closed")
def _closed(
    incident: Incident, events: Sequence[TimelineEvent]
) -> TimelineEvent | None:
    return _status_reached(events, (S.CLOSED,))


@dataclass(frozen=True)
class ChecklistState:
    key: str
    label: str
    applies: bool
    done: bool
    source: str  # "timeline", "hand" or "" while open
    at: datetime | None
    by: str | None
    event: int | None
    hand_tickable: bool


def incident_checklist(*, incident: Incident) -> list[ChecklistState]:
    """Return the incident's response checklist, each item with its proof."""
    events = list(incident.timeline.select_related("actor").order_by("at", "id"))
    ticks = {
        tick.item: tick
        for tick in ChecklistTick.objects.filter(incident=incident).select_related(
            "ticked_by"
        )
    }
    return [_state(incident, item, events, ticks.get(item.key)) for item in ITEMS]


def _state(
    incident: Incident,
    item: ChecklistItem,
    events: Sequence[TimelineEvent],
    tick: ChecklistTick | None,
) -> ChecklistState:
    found = PROVERS[item.key](incident, events) if item.key in PROVERS else None
    source, at, by, event = "", None, None, None
    if found is not None:
        source, at, event = "timeline", found.at, found.pk
        by = found.actor.get_username() if found.actor else None
    elif tick is not None:
        source, at = "hand", tick.ticked_at
        by = tick.ticked_by.get_username() if tick.ticked_by else None
    return ChecklistState(
        key=item.key,
        label=item.label,
        applies=item.applies(incident),
        done=bool(source),
        source=source,
        at=at,
        by=by,
        event=event,
        hand_tickable=item.key not in PROVERS,
    )
