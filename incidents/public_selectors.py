"""Reads of the incident core for the public status page.

Only public services, and public incidents that are not drills (and not
cancelled: a false alarm), with their public status updates and the
maintenance windows of public services; the status page shapes these rows
for the public and never reads the incident tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Count, Max, Q, QuerySet, Sum

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
    recent, still_open = _window(since)
    return public_rows_of(recent, services) + public_rows_of(still_open, services)


def _window(since: datetime) -> tuple[QuerySet[Incident], QuerySet[Incident]]:
    """Return the public incidents begun since `since`, and the open ones
    begun before: two queries, each on the partial index of public incidents."""
    base = public_incidents()
    return (
        base.filter(started_at__gte=since),
        base.filter(status__in=OPEN_STATUSES, started_at__lt=since),
    )


class PublicVersion(NamedTuple):
    """Aggregates of what the status page reads (see `public_version`)."""

    services: tuple[tuple[Any, ...], ...]
    incidents: tuple[tuple[Any, ...], ...]  # (count, sum of ids, last save) twice
    updates: tuple[Any, ...]
    affected: tuple[Any, ...]
    windows: tuple[tuple[Any, ...], ...]  # (id, service, starts, ends, closed)


def public_version(*, since: datetime, ending_from: datetime) -> PublicVersion:
    """Return a value that changes whenever a saved change reaches what
    `public_incident_rows(since=since)` and `maintenance_windows(ending_from=
    ending_from)` read: the public services, the incidents (each save stamps
    `updated_at`), the services they affect, their public updates and the
    windows. Read in a few aggregate queries, so that a copy of the status
    page can be kept for as long as it stays the same.

    An edit that bypasses `save()` (a bulk update) of an update's text or a
    window's reason is not seen here; whoever keeps a copy by this value
    rebuilds it on a clock as well.
    """
    recent, still_open = _window(since)
    services = tuple(
        public_services().values_list(
            "pk", "name", "public_name", "description", "public_status_override"
        )
    )
    in_window = Q(incident__in=recent) | Q(incident__in=still_open)
    incidents = tuple(
        tuple(qs.aggregate(n=Count("pk"), ids=Sum("pk"), at=Max("updated_at")).values())
        for qs in (recent, still_open)
    )
    updates = StatusUpdate.objects.filter(
        in_window, audience=StatusUpdate.Audience.PUBLIC
    ).aggregate(n=Count("pk"), last=Max("pk"))
    affected = Incident.affected_services.through.objects.filter(in_window).aggregate(
        n=Count("pk"), ids=Sum("service_id")
    )
    windows = tuple(
        MaintenanceWindow.objects.filter(
            service__in=[row[0] for row in services], ends_at__gte=ending_from
        )
        .order_by("pk")
        .values_list("pk", "service_id", "starts_at", "ends_at", "closed_at")
    )
    return PublicVersion(
        services, incidents, tuple(updates.values()), tuple(affected.values()), windows
    )


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
