"""What drills need of the incident core: a drill integration per service and
kind, and alert bodies checked and stored as the ingest endpoints do.

A drill's alerts are stored as the ingest endpoints store theirs
(`alert_body_fields`, which the Alertmanager endpoint uses too), by an
integration marked `is_drill`: the worker
then applies them like any other (routing, grouping, escalation, pages),
and the incident they declare is a drill from its first commit.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.db import transaction

from incidents.exceptions import IncidentError
from incidents.ingest.alertmanager import group_hash, parse_webhook
from incidents.ingest.pagerduty import parse_event
from incidents.ingest.signals import TRIGGER, InvalidEvent
from incidents.models import AlertEvent, Integration, Service
from incidents.services.alert_events import alert_event_record

Kind = Integration.Kind
# The formats a drill scenario may fire, each as its senders send it.
DRILL_KINDS = (Kind.PAGERDUTY, Kind.ALERTMANAGER)


def alert_body_errors(*, kind: str, body: Any) -> list[str]:
    """Return what is wrong with `body` as an alert of `kind` (none: fine)."""
    if kind not in DRILL_KINDS:
        return [f"{kind!r} is not one of {', '.join(DRILL_KINDS)}"]
    if not isinstance(body, dict):
        return ["the alert must be a JSON object"]
    try:
        if kind == Kind.PAGERDUTY:
            signal = parse_event({"dedup_key": "check", **body})
            if signal.action != TRIGGER:
                return ["'event_action' must be trigger: a drill opens an incident"]
        else:
            parse_webhook(body)
    except InvalidEvent as error:
        return list(error.errors)
    return []


def alert_body_fields(*, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Return what an ingest endpoint of `kind` stores for `body` (source,
    action, dedup key, payload), or raise InvalidEvent.

    PagerDuty Events v2 (a trigger without a dedup key is given one) or an
    Alertmanager webhook (its key is its group's hash).
    """
    if kind == Kind.PAGERDUTY:
        if body.get("event_action") == TRIGGER and not body.get("dedup_key"):
            body = {**body, "dedup_key": uuid.uuid4().hex}
        signal = parse_event(body)
        return {
            "source": AlertEvent.Source.PAGERDUTY,
            "action": signal.action,
            "dedup_key": signal.dedup_key,
            "payload": {k: v for k, v in body.items() if k != "routing_key"},
        }
    if kind != Kind.ALERTMANAGER:
        raise IncidentError(f"{kind!r} integrations do not take alert bodies")
    signals = parse_webhook(body)
    return {
        "source": AlertEvent.Source.ALERTMANAGER,
        "action": body.get("status", ""),
        "dedup_key": group_hash(signals[0].group_key),
        "payload": body,
    }


def drill_alert_record(*, integration: Integration, body: dict[str, Any]) -> AlertEvent:
    """Store a drill's alert body for its drill integration, as the ingest
    endpoint of its kind stores it, for the worker to apply.

    Without the ingest quota, which is there for senders outside Vigil.
    """
    if not integration.is_drill:
        raise IncidentError(f"{integration} is not a drill integration")
    return alert_event_record(
        integration=integration, **alert_body_fields(kind=integration.kind, body=body)
    )


@transaction.atomic
def drill_integration_get(*, service: Service, kind: str) -> Integration:
    """Return the service's drill integration of `kind`, made on first use.

    Its key is thrown away: only drills, from inside, send through it, and
    its alerts never group or deduplicate with a real integration's.
    """
    if kind not in DRILL_KINDS:
        raise IncidentError(f"drills do not send {kind!r} alerts", field="kind")
    Service.objects.select_for_update().get(pk=service.pk)  # one per service
    found = Integration.objects.filter(service=service, kind=kind, is_drill=True)
    integration = found.first()
    if integration is None:
        key = secrets.token_hex(16)
        integration = Integration.objects.create(
            name=f"Drills ({Kind(kind).label})",
            kind=kind,
            service=service,
            is_drill=True,
            key_hash=Integration.hash_key(key),
            key_prefix=key[:8],
        )
    return integration
