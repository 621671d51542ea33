"""What the responders' console shows, read from the incident and its parts.

Reads only: the SLA clocks of the severity matrix, who holds each role, and
the timeline as people read it. Every change goes through the services.
Where paging stands is the escalation app's to say: it sets its reader here
with `console_paging_set` (the incident core knows nothing of escalation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from django.utils import timezone

from incidents import selectors
from incidents.lifecycle import OPEN_STATUSES, allowed_next
from incidents.models import (
    AlertEvent,
    Incident,
    IncidentRole,
    PostIncidentReview,
    TimelineEvent,
)
from incidents.timeline import timeline_kind_icon, timeline_kind_label
from incidents.timeline_kinds import ALERT_ATTACHED, NOTE

S = Incident.Status

# A note's mark says what kind of note it is (each kind's mark is registered
# with the kind, in its app's timeline_kinds.py).
NOTE_ICONS = {"hypothesis": "?", "action": "⚒", "decision": "⚖"}


def user_name(user: User | None) -> str:
    """A person's name as people say it: full name, else the username."""
    if user is None:
        return "Vigil"
    return str(user.get_full_name() or user.get_username())


@dataclass(frozen=True)
class Clock:
    """A target of the severity matrix: when it is due and whether it is missed."""

    label: str
    due: datetime | None
    met_at: datetime | None = None

    @property
    def breached(self) -> bool:
        if self.due is None:
            return False
        return (self.met_at or timezone.now()) > self.due

    @property
    def state(self) -> str:
        if self.due is None:
            return "none"
        if self.met_at is not None:
            return "missed" if self.breached else "met"
        return "breached" if self.breached else "running"


def sla_clocks(incident: Incident) -> list[Clock]:
    """Acknowledge due, resolve target and next status update, for the header."""
    severity = incident.severity
    start = incident.detected_at
    clocks = [
        Clock("Acknowledge by", start + severity.ack_target, incident.acknowledged_at)
    ]
    resolve = start + severity.resolve_target if severity.resolve_target else None
    clocks.append(Clock("Resolve by", resolve, incident.resolved_at))
    if incident.status in OPEN_STATUSES:  # the communication clock
        clocks.append(Clock("Next update due", incident.next_update_due_at))
    return clocks


def review(incident: Incident) -> PostIncidentReview | None:
    """The incident's post-incident review, once it has one."""
    return PostIncidentReview.objects.filter(incident=incident.pk).first()


def roles(incident: Incident) -> list[tuple[str, str, User | None]]:
    """Every SOP role with its holder (None while nobody holds it)."""
    held = {a.role: a.user for a in incident.role_assignments.all()}
    return [
        (value, str(label), held.get(value)) for value, label in IncidentRole.choices
    ]


def commander(incident: Incident) -> User | None:
    for assignment in incident.role_assignments.all():
        if assignment.role == IncidentRole.INCIDENT_COMMANDER:
            return assignment.user
    return None


# Where paging stands for an incident, as the app that pages says it (an object
# the war room's header reads: state, level, next_page, nobody_paged).
PagingReader = Callable[[Incident], Any]
_paging: list[PagingReader] = []


def console_paging_set(reader: PagingReader) -> None:
    """Make `reader` the one that says where an incident's paging stands."""
    _paging[:] = [reader]


def paging(incident: Incident) -> Any:
    """Where the incident's paging stands, or None where no app pages."""
    return _paging[0](incident) if _paging else None


def legal_transitions(incident: Incident) -> list[tuple[str, str]]:
    """The statuses the lifecycle allows next, but acknowledge and cancel,
    which have buttons of their own."""
    return [
        (status, str(S(status).label))
        for status in allowed_next(incident.status)
        if status not in (S.ACKNOWLEDGED, S.CANCELLED)
    ]


@dataclass(frozen=True)
class Entry:
    """One timeline event as people read it."""

    id: int
    at: datetime
    kind: str
    kind_label: str
    icon: str
    who: str
    via: str
    message: str
    details: list[tuple[str, Any]]
    links: list[tuple[str, str]]
    images: list[tuple[str, str, str]]  # alt, src, where it links


def _web_url(value: Any, schemes: tuple[str, ...] = ("http", "https")) -> str:
    """`value` where it is a web address of one of `schemes`, else ""."""
    url = urlsplit(str(value or ""))
    return url.geturl() if url.scheme in schemes and url.netloc else ""


def _alert_details(data: dict[str, Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """Custom details, links and images of an alert's payload, where it has
    them. An image shows when it is served over https (what the war room's
    page lets the browser load); one over plain http stays a link."""
    payload = data.get("payload") if isinstance(data.get("payload"), dict) else data
    custom = payload.get("custom_details") if isinstance(payload, dict) else None
    details = list(custom.items())[:20] if isinstance(custom, dict) else []
    links = [
        (str(link.get("text") or link.get("href")), _web_url(link.get("href")))
        for link in data.get("links", []) or []
        if isinstance(link, dict) and _web_url(link.get("href"))
    ]
    images = []
    for image in data.get("images", []) or []:
        if not isinstance(image, dict):
            continue
        alt, src = str(image.get("alt") or ""), image.get("src")
        if _web_url(src, ("https",)):
            images.append((alt, _web_url(src), _web_url(image.get("href"))))
        elif _web_url(src):
            links.append((alt or _web_url(src), _web_url(src)))
    return details, links, images


def entry(event: TimelineEvent, payloads: dict[int, Any] | None = None) -> Entry:
    data = event.data if isinstance(event.data, dict) else {}
    label = timeline_kind_label(event.kind)
    icon = timeline_kind_icon(event.kind)
    if event.kind == NOTE:
        note_kind = str(data.get("note_kind", "note"))
        label = str(TimelineEvent.NoteKind(note_kind).label)
        icon = NOTE_ICONS.get(note_kind, icon)
    payload = (payloads or {}).get(data.get("event", 0))
    details, links, images = _alert_details(
        payload if isinstance(payload, dict) else {}
    )
    return Entry(
        id=event.pk,
        at=event.at,
        kind=event.kind,
        kind_label=str(label),
        icon=icon,
        who=user_name(event.actor),
        via=event.via,
        message=event.message,
        details=details,
        links=links,
        images=images,
    )


def timeline(incident: Incident, after: int = 0) -> list[Entry]:
    """The incident's timeline after event `after`, ordered by event id."""
    events = list(
        selectors.incident_timeline(incident=incident)
        .filter(pk__gt=after)
        .order_by("id")
    )
    alert_events = [
        e.data["event"]
        for e in events
        if e.kind == ALERT_ATTACHED and isinstance(e.data, dict)
    ]
    payloads = dict(
        AlertEvent.objects.filter(pk__in=alert_events).values_list("pk", "payload")
    )
    return [entry(event, payloads) for event in events]


SEVERITY_THEN_AGE = ("severity__rank", "detected_at", "id")


def open_incidents(*, user: User, scope: str) -> list[Incident]:
    """Open incidents of the user's teams, by severity then age.

    `scope` is "mine" (the user holds a role), "teams" (the user's teams,
    also for a superuser) or "all" (what the user may see).
    """
    incidents = selectors.incident_list(user=user).filter(status__in=OPEN_STATUSES)
    if scope == "mine":
        incidents = incidents.filter(role_assignments__user=user)
    elif scope == "teams":
        incidents = incidents.filter(service__team__memberships__user=user)
    return list(incidents.distinct().order_by(*SEVERITY_THEN_AGE))
