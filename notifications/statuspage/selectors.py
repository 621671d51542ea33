"""What the public may see, read once into a snapshot every page renders.

Only public services, and public incidents that are not drills (and not
cancelled: a false alarm), are read; of an incident only its public title,
its status, times, severity-derived impact and its public status updates;
never its summary, notes, timeline, responders or internal updates. Every
public renderer (the page, the JSON endpoints, the feeds, the subscribers'
messages) works from these values, so none can show more.

Ids shown to the public are keyed hashes of the row ids: they are stable,
but say nothing of how many private incidents there are.

About 400 lines on purpose: every read the public side makes is here, in
one place, so that what it may show is checked in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.crypto import salted_hmac

from incidents.lifecycle import OPEN_STATUSES
from incidents.public_selectors import (
    IncidentStatus,
    PublicIncidentRow,
    PublicStatus,
    maintenance_windows,
    public_incident_row,
    public_incident_rows,
    public_incidents,
    public_services,
    public_version,
)
from notifications.models import StatusPage
from notifications.statuspage.uptime import DayBar, day_bars

if TYPE_CHECKING:
    from incidents.models import Incident, MaintenanceWindow, Service, StatusUpdate

__all__ = ["public_incidents", "public_services"]  # read here by other modules

S = IncidentStatus
PS = PublicStatus
HISTORY_DAYS = 90
# Incidents begun this long before the history starts still count in it
# (an open one always does).
LONGEST_INCIDENT = timedelta(days=30)
PAST_INCIDENT_DAYS = 14  # resolved incidents listed on the page
LISTED = 50  # incidents.json and scheduled-maintenances.json, as Statuspage's

# Incident statuses in Statuspage's words.
PUBLIC_STATUS = {
    S.TRIGGERED: "investigating",
    S.ACKNOWLEDGED: "investigating",
    S.INVESTIGATING: "investigating",
    S.IDENTIFIED: "identified",
    S.MITIGATING: "identified",
    S.MONITORING: "monitoring",
    S.RESOLVED: "resolved",
    S.CLOSED: "resolved",
}
# Severity rank (0 most severe) → the incident's impact and what it does to
# the services it affects; lower severities (rank 2 and up) are "minor".
IMPACT_BY_RANK = ["critical", "major"]
COMPONENT_STATUS_BY_IMPACT = {
    "critical": PS.MAJOR_OUTAGE,
    "major": PS.PARTIAL_OUTAGE,
    "minor": PS.DEGRADED_PERFORMANCE,
}
# Worst first: the page's status is its worst component's.
STATUS_ORDER: list[str] = [
    PS.MAJOR_OUTAGE,
    PS.PARTIAL_OUTAGE,
    PS.DEGRADED_PERFORMANCE,
    PS.UNDER_MAINTENANCE,
    PS.OPERATIONAL,
]
INDICATOR = {
    PS.MAJOR_OUTAGE: ("critical", "Major Service Outage"),
    PS.PARTIAL_OUTAGE: ("major", "Partial System Outage"),
    PS.DEGRADED_PERFORMANCE: ("minor", "Minor Service Outage"),
    PS.UNDER_MAINTENANCE: ("none", "Service Under Maintenance"),
    PS.OPERATIONAL: ("none", "All Systems Operational"),
}


def public_key(kind: str, pk: int) -> str:
    """Return the public id of a row: 12 characters, stable, unguessable."""
    digest = salted_hmac("statuspage.public_key", f"{kind}:{pk}").hexdigest()
    return digest[:12]


@dataclass(frozen=True)
class Component:
    id: str
    pk: int
    name: str
    description: str
    status: str
    position: int
    days: list[DayBar]

    @property
    def status_display(self) -> str:
        return PS(self.status).label


@dataclass(frozen=True)
class PublicUpdate:
    id: str
    status: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class PublicIncident:
    id: str
    pk: int
    name: str
    status: str
    impact: str
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    impact_ends_at: datetime | None
    components: list[Component]
    updates: list[PublicUpdate]  # newest first

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class PublicMaintenance:
    id: str
    name: str
    status: str  # scheduled, in_progress, completed
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[Component]


@dataclass(frozen=True)
class Snapshot:
    """Everything the public status page shows, as of `built_at`."""

    page: StatusPage
    built_at: datetime
    updated_at: datetime  # when what it shows last changed
    components: list[Component]
    incidents: list[PublicIncident]  # the last 90 days' and every open one
    maintenances: list[PublicMaintenance]
    worst: str = PS.OPERATIONAL  # the worst component's status
    indicator: str = "none"
    description: str = ""
    history_start: datetime = field(default_factory=timezone.now)

    @property
    def changed(self) -> bool:
        """Whether anything it shows changed within its history. The formats
        need a time for `updated_at`: with no change it is the history's
        start."""
        return self.updated_at > self.history_start

    @property
    def open_incidents(self) -> list[PublicIncident]:
        return [i for i in self.incidents if i.is_open]

    @property
    def past_incidents(self) -> list[PublicIncident]:
        since = self.built_at - timedelta(days=PAST_INCIDENT_DAYS)
        return [
            i
            for i in self.incidents
            if i.resolved_at is not None and i.resolved_at >= since
        ]

    @property
    def active_maintenances(self) -> list[PublicMaintenance]:
        return [m for m in self.maintenances if m.status != "completed"]


def status_page_settings() -> StatusPage:
    """Return the page's branding: the saved row, or the defaults."""
    return StatusPage.objects.order_by("pk").first() or StatusPage()


def impact_of(incident: Incident) -> str:
    """Return the incident's impact in Statuspage's words, from its severity."""
    rank = incident.severity.rank
    return IMPACT_BY_RANK[rank] if rank < len(IMPACT_BY_RANK) else "minor"


def update_body(update: StatusUpdate) -> str:
    """Return a public update's text, with its impact and next steps."""
    parts = [update.text.strip()]
    if update.impact.strip():
        parts.append(f"Impact: {update.impact.strip()}")
    if update.next_steps.strip():
        parts.append(f"Next steps: {update.next_steps.strip()}")
    if update.eta is not None:
        eta = timezone.localtime(update.eta)
        parts.append(f"Expected resolution: {eta:%Y-%m-%d %H:%M %Z}")
    return "\n\n".join(p for p in parts if p)


def history_start(now: datetime) -> datetime:
    """Return the local midnight that the page's 90 days of history begin at."""
    return timezone.localtime(now).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) - timedelta(days=HISTORY_DAYS - 1)


def status_version(*, now: datetime) -> tuple[object, ...]:
    """Return a value that stays the same while what `status_snapshot` reads
    does, in a few aggregate queries: a rendering made from a snapshot can be
    kept while it does. Besides the rows, it follows the clock where the
    clock changes what the page says (the day the history starts on, each
    maintenance window beginning and ending), but not today's uptime, which
    moves by the second while an incident is open."""
    start = history_start(now)
    found = public_version(since=start - LONGEST_INCIDENT, ending_from=start)
    phases = tuple(
        (starts <= now, ends <= now) for _, _, starts, ends, _ in found.windows
    )
    return (start, found, phases, status_page_settings().updated_at)


def status_snapshot(*, now: datetime | None = None) -> Snapshot:
    """Read what the public page shows now."""
    now = now or timezone.now()
    start = history_start(now)
    services = list(public_services())
    incidents = [
        _Read(row)
        for row in public_incident_rows(
            since=start - LONGEST_INCIDENT, services=services
        )
    ]
    windows = maintenance_windows(services=services, ending_from=start)
    status = _statuses(services, incidents, windows, now)
    impacts: dict[int, list[tuple[datetime, datetime | None, str]]] = {}
    for i in incidents:
        impact = (i.started_at, i.impact_ends_at, COMPONENT_STATUS_BY_IMPACT[i.impact])
        for pk in i.pk_components:
            impacts.setdefault(pk, []).append(impact)
    components = [
        Component(
            id=public_key("service", s.pk),
            pk=s.pk,
            name=s.public_name or s.name,
            description=s.description,
            status=status[s.pk],
            position=position,
            days=day_bars(
                incidents=impacts.get(s.pk, []),
                start=start,
                days=HISTORY_DAYS,
                now=now,
            ),
        )
        for position, s in enumerate(services, start=1)
    ]
    by_pk = {c.pk: c for c in components}
    public = [_public_incident(i, by_pk) for i in incidents if i.ends_after(start)]
    maintenances = [_public_maintenance(w, by_pk, now) for w in windows]
    worst = min(
        (c.status for c in components),
        key=STATUS_ORDER.index,
        default=PS.OPERATIONAL,
    )
    indicator, description = INDICATOR[PS(worst)]
    page = status_page_settings()
    changes = [page.updated_at] if page.updated_at else []
    changes += [i.updated_at for i in public]
    return Snapshot(
        page=page,
        built_at=now,
        updated_at=max(changes, default=start),
        components=components,
        incidents=sorted(public, key=lambda i: i.started_at, reverse=True),
        maintenances=maintenances,
        worst=worst,
        indicator=indicator,
        description=description,
        history_start=start,
    )


@dataclass
class _Read:
    """One public incident as read, before it is shaped for the public."""

    row: PublicIncidentRow

    @property
    def incident(self) -> Incident:
        return self.row.incident

    @property
    def pk_components(self) -> list[int]:
        return self.row.pk_components

    @property
    def updates(self) -> list[StatusUpdate]:
        return self.row.updates

    @property
    def started_at(self) -> datetime:
        return self.incident.started_at

    @property
    def impact(self) -> str:
        return impact_of(self.incident)

    @property
    def impact_ends_at(self) -> datetime | None:
        return self.incident.mitigated_at or self.incident.resolved_at

    def ends_after(self, start: datetime) -> bool:
        end = self.incident.resolved_at
        return end is None or end >= start or self.incident.started_at >= start


def _statuses(
    services: list[Service],
    incidents: list[_Read],
    windows: list[MaintenanceWindow],
    now: datetime,
) -> dict[int, str]:
    """Return each public service's state: override, incidents, maintenance."""
    open_impacts: dict[int, list[str]] = {}
    for i in incidents:
        if i.incident.status in OPEN_STATUSES:
            for pk in i.pk_components:
                open_impacts.setdefault(pk, []).append(
                    COMPONENT_STATUS_BY_IMPACT[i.impact]
                )
    status: dict[int, str] = {}
    for service in services:
        derived = list(open_impacts.get(service.pk, []))
        if any(
            w.service_id == service.pk and w.starts_at <= now < w.ends_at
            for w in windows
        ):
            derived.append(PS.UNDER_MAINTENANCE)
        worst = min(derived, key=STATUS_ORDER.index, default=PS.OPERATIONAL)
        status[service.pk] = service.public_status_override or worst
    return status


def _public_incident(read: _Read, components: dict[int, Component]) -> PublicIncident:
    incident = read.incident
    updates = [
        PublicUpdate(
            id=public_key("update", u.pk),
            status=PUBLIC_STATUS.get(S(u.status), "investigating"),
            body=update_body(u),
            created_at=u.posted_at,
        )
        for u in read.updates
    ]
    resolved = None
    if incident.status not in OPEN_STATUSES:
        resolved = incident.resolved_at or incident.updated_at
    monitoring = [u.created_at for u in updates if u.status == "monitoring"]
    return PublicIncident(
        id=public_key("incident", incident.pk),
        pk=incident.pk,
        name=incident.public_title or incident.title,
        status=PUBLIC_STATUS.get(S(incident.status), "investigating"),
        impact=read.impact,
        started_at=incident.started_at,
        created_at=incident.detected_at,
        updated_at=max([incident.updated_at, *(u.created_at for u in updates)]),
        monitoring_at=min(monitoring, default=None),
        resolved_at=resolved,
        impact_ends_at=read.impact_ends_at,
        components=[components[pk] for pk in read.pk_components],
        updates=updates,
    )


def _public_maintenance(
    window: MaintenanceWindow, components: dict[int, Component], now: datetime
) -> PublicMaintenance:
    if now < window.starts_at:
        status = "scheduled"
    elif now < window.ends_at:
        status = "in_progress"
    else:
        status = "completed"
    return PublicMaintenance(
        id=public_key("maintenance", window.pk),
        name=window.reason,
        status=status,
        scheduled_for=window.starts_at,
        scheduled_until=window.ends_at,
        components=[components[window.service_id]],
    )


def public_incident_of(*, incident_id: int) -> PublicIncident | None:
    """Return one incident as the public sees it, or None if it may not."""
    services = list(public_services())
    row = public_incident_row(incident_id=incident_id, services=services)
    if row is None:
        return None
    components = {
        s.pk: Component(
            id=public_key("service", s.pk),
            pk=s.pk,
            name=s.public_name or s.name,
            description=s.description,
            status=PS.OPERATIONAL,
            position=0,
            days=[],
        )
        for s in services
    }
    return _public_incident(_Read(row), components)
