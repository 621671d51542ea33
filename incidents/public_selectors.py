"""Reads of the incident core for the public status page.

Only public services, and public incidents that are not drills (and not
cancelled: a false alarm), with their public status updates and the
maintenance windows of public services; the status page shapes these rows
for the public and never reads the incident tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from incidents.lifecycle import OPEN_STATUSES
from incidents.models import Incident, MaintenanceWindow, Service, StatusUpdate

IncidentStatus = Incident.Status
PublicStatus = Service.PublicStatus


def public_services() -> QuerySet[Service]:
    """Return the services listed on the public page, in the page's order."""
    return Service.objects.filter(is_public=True).order_by("name", "pk")


def public_services_of(*, pks: list[int]) -> QuerySet[Service]:
    """Return the public services among `pks`."""
    return public_services().filter(pk__in=pks)


def public_incidents() -> QuerySet[Incident]:
    """Return the incidents the public may see (any time)."""
    return Incident.objects.filter(is_public=True, is_drill=False).exclude(
        status=IncidentStatus.CANCELLED
    )


def public_update(*, update_id: int) -> StatusUpdate | None:
    """Return the status update if it is a public one, else None."""
    return StatusUpdate.objects.filter(
        pk=update_id, audience=StatusUpdate.Audience.PUBLIC
    ).first()


def incident_of(*, incident_id: int) -> Incident:
    """Return the incident with this id."""
    return Incident.objects.get(pk=incident_id)


def maintenance_windows(
    *, services: list[Service], ending_from: datetime
) -> list[MaintenanceWindow]:
    """Return the services' maintenance windows ending at `ending_from` or later."""
    return list(
        MaintenanceWindow.objects.filter(
            service__in=services, ends_at__gte=ending_from
        ).order_by("starts_at", "pk")
    )


@dataclass
class PublicIncidentRow:
    """One public incident as read: the public services it affects, its updates."""

    incident: Incident
    pk_components: list[int]  # the public services it affects, by id
    updates: list[StatusUpdate]  # public only, newest first


def public_incident_rows(
    *, since: datetime, services: list[Service]
) -> list[PublicIncidentRow]:
    """Read the public incidents begun since `since`, and every open one.

    These are the rows of the page's incidents and of its 90-day uptime.
    """
    base = public_incidents()
    recent = base.filter(started_at__gte=since)
    still_open = base.filter(status__in=OPEN_STATUSES, started_at__lt=since)
    return public_rows_of(recent, services) + public_rows_of(still_open, services)


def public_rows_of(
    incidents: QuerySet[Incident], services: list[Service]
) -> list[PublicIncidentRow]:
    """Read the incidents with their public updates and public services.

    Three queries, whatever the number of incidents: a prefetch through the
    related managers cost more than the page's whole rendering.
    """
    public_pks = {s.pk for s in services}
    found = list(incidents.select_related("severity").order_by("started_at", "pk"))
    ids = [incident.pk for incident in found]
    affected: dict[int, set[int]] = {pk: set() for pk in ids}
    through = Incident.affected_services.through.objects.filter(incident_id__in=ids)
    for incident_id, service_id in through.values_list("incident_id", "service_id"):
        affected[incident_id].add(service_id)
    updates: dict[int, list[StatusUpdate]] = {pk: [] for pk in ids}
    public = StatusUpdate.objects.filter(
        incident_id__in=ids, audience=StatusUpdate.Audience.PUBLIC
    ).order_by("-posted_at", "-pk")
    for update in public:
        updates[update.incident_id].append(update)
    return [
        PublicIncidentRow(
            incident=incident,
            pk_components=sorted(
                ({incident.service_id} | affected[incident.pk]) & public_pks
            ),
            updates=updates[incident.pk],
        )
        for incident in found
    ]


def public_incident_row(
    *, incident_id: int, services: list[Service]
) -> PublicIncidentRow | None:
    """Read one incident if the public may see it, else None."""
    rows = public_rows_of(public_incidents().filter(pk=incident_id), services)
    return rows[0] if rows else None
