"""Heartbeats, change events, user reports, maintenance windows and keys."""

from __future__ import annotations

import secrets
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.exceptions import IncidentError
from incidents.ingest.signals import RESOLVE, TRIGGER
from incidents.models import (
    Alert,
    AlertEvent,
    ChangeEvent,
    Integration,
    MaintenanceWindow,
    Service,
)
from incidents.services.alert_events import alert_event_record

HEARTBEAT_KEY = "heartbeat"
DEFAULT_GRACE = timedelta(minutes=1)


def change_event_record(
    *,
    integration: Integration,
    summary: str,
    source: str,
    timestamp: datetime | None,
    payload: dict[str, object],
) -> ChangeEvent:
    """Keep a change (deploy, config push) on the service's record."""
    return ChangeEvent.objects.create(
        integration=integration,
        service_id=integration.service_id,
        summary=summary,
        source=source,
        timestamp=timestamp or timezone.now(),
        payload=payload,
    )


def heartbeat_ping(*, integration: Integration) -> None:
    """Record a ping; if a missed heartbeat was reported, resolve it."""
    now = timezone.now()
    recovered = Integration.objects.filter(
        pk=integration.pk, heartbeat_missed_at__isnull=False
    ).update(last_ping_at=now, heartbeat_missed_at=None)
    if not recovered:
        Integration.objects.filter(pk=integration.pk).update(last_ping_at=now)
        return
    alert_event_record(
        integration=integration,
        source=AlertEvent.Source.HEARTBEAT,
        action=RESOLVE,
        dedup_key=HEARTBEAT_KEY,
        payload={"summary": f"Heartbeat {integration.name} is back"},
    )


def heartbeat_due(integration: Integration) -> datetime | None:
    """Return when the next ping is late (expected time plus grace)."""
    since = integration.last_ping_at or integration.created_at
    grace = (
        DEFAULT_GRACE
        if integration.heartbeat_grace is None
        else integration.heartbeat_grace
    )
    if integration.heartbeat_cron:
        zone = zoneinfo.ZoneInfo(integration.heartbeat_timezone)
        local = since.astimezone(zone)
        expected = next(CronSim(integration.heartbeat_cron, local))
        return expected.astimezone(UTC) + grace
    if integration.heartbeat_interval:
        return since + integration.heartbeat_interval + grace
    return None


def heartbeat_check_missed(*, now: datetime) -> int:
    """Open a "health check failure" alert for each heartbeat gone quiet.

    The claim on `heartbeat_missed_at` makes each outage alert once, however
    many sweeps run; the next ping clears it. Return how many were opened.
    """
    opened = 0
    candidates = Integration.objects.select_related("service").filter(
        kind=Integration.Kind.HEARTBEAT, enabled=True, heartbeat_missed_at__isnull=True
    )
    for integration in candidates:
        due = heartbeat_due(integration)
        if due is None or due > now:
            continue
        with transaction.atomic():
            claimed = Integration.objects.filter(
                pk=integration.pk, heartbeat_missed_at__isnull=True
            ).update(heartbeat_missed_at=now)
            if not claimed:
                continue
            last = integration.last_ping_at
            alert_event_record(
                integration=integration,
                source=AlertEvent.Source.HEARTBEAT,
                action=TRIGGER,
                dedup_key=HEARTBEAT_KEY,
                payload={
                    "summary": f"Health check failure: no heartbeat from "
                    f"{integration.name} since "
                    f"{last.isoformat() if last else 'it was created'}",
                    "due": due.isoformat(),
                },
            )
        opened += 1
    return opened


def heartbeat_schedule_validate(*, cron: str, tz: str) -> None:
    """Raise IncidentError unless `cron` and `tz` make a usable schedule."""
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise IncidentError(
            f"{tz!r} is not an IANA time zone", field="heartbeat_timezone"
        ) from None
    if cron:
        try:
            CronSim(cron, timezone.now())
        except CronSimError as error:
            raise IncidentError(
                f"bad cron expression: {error}", field="heartbeat_cron"
            ) from None


def user_report_create(
    *,
    service: Service,
    title: str,
    description: str,
    by: User,
    severity: str = "",
) -> AlertEvent:
    """Turn a user's report of a problem into an alert (SOP: user reports)."""
    return alert_event_record(
        service=service,
        source=AlertEvent.Source.USER_REPORT,
        action=TRIGGER,
        dedup_key=f"report-{uuid.uuid4().hex}",
        payload={"summary": title, "description": description, "severity": severity},
        reported_by=by,
    )


def maintenance_window_create(
    *,
    service: Service,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    by: User | None,
) -> MaintenanceWindow:
    """Plan a maintenance window: its service's alerts will page no one."""
    if ends_at <= starts_at:
        raise IncidentError("ends_at must be after starts_at", field="ends_at")
    return MaintenanceWindow.objects.create(
        service=service,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason,
        created_by=by,
    )


def maintenance_windows_close(*, now: datetime) -> int:
    """List, on each window that just ended, the alerts it kept quiet.

    Alerts still firing when the window ends are named first: those are the
    ones somebody should look at now. Return how many windows were closed.
    """
    closed = 0
    for window in MaintenanceWindow.objects.filter(
        ends_at__lte=now, closed_at__isnull=True
    ):
        with transaction.atomic():
            if not MaintenanceWindow.objects.filter(
                pk=window.pk, closed_at__isnull=True
            ).update(closed_at=now):
                continue
            alerts = list(window.suppressed_alerts.order_by("first_seen_at"))
            firing = [a for a in alerts if a.status != Alert.Status.RESOLVED]
            lines = [
                f"{len(alerts)} alerts during the window, {len(firing)} still firing."
            ]
            lines += [f"FIRING  {a.dedup_key}: {a.summary}" for a in firing]
            lines += [
                f"resolved {a.dedup_key}: {a.summary}"
                for a in alerts
                if a.status == Alert.Status.RESOLVED
            ]
            MaintenanceWindow.objects.filter(pk=window.pk).update(
                summary="\n".join(lines)
            )
        closed += 1
    return closed


@transaction.atomic
def integration_rotate_key(
    *, integration: Integration, overlap: timedelta = timedelta(hours=24)
) -> tuple[Integration, str]:
    """Give the integration a new key; the old one works for `overlap` more."""
    integration = Integration.objects.select_for_update().get(pk=integration.pk)
    key = secrets.token_hex(16)
    integration.previous_key_hash = integration.key_hash
    integration.previous_key_expires_at = timezone.now() + overlap
    integration.key_hash = Integration.hash_key(key)
    integration.key_prefix = key[:8]
    integration.save(
        update_fields=[
            "previous_key_hash",
            "previous_key_expires_at",
            "key_hash",
            "key_prefix",
        ]
    )
    return integration, key
