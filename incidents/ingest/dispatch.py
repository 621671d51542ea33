"""Turn a stored event back into signals, whatever its source."""

from __future__ import annotations

from dataclasses import replace

from config.strict_json import DEPTH_CEILING
from incidents.ingest.alertmanager import parse_webhook
from incidents.ingest.generic import parse_generic
from incidents.ingest.pagerduty import parse_event
from incidents.ingest.signals import AlertSignal
from incidents.models import AlertEvent
from incidents.models.fields import UnreadableJSON

Source = AlertEvent.Source


def signals_of(event: AlertEvent) -> list[AlertSignal]:
    """Return the signals of a stored event (raises InvalidEvent if corrupt,
    ValueError if its payload cannot be read at all)."""
    body = event.payload
    if isinstance(body, UnreadableJSON):
        raise ValueError(f"the payload is nested deeper than {DEPTH_CEILING} levels")
    if event.source == Source.PAGERDUTY:
        return [parse_event({**body, "dedup_key": event.dedup_key})]
    if event.source == Source.ALERTMANAGER:
        return parse_webhook(body)
    if event.source == Source.GENERIC:
        mapping = event.integration.field_mapping if event.integration else {}
        signal = parse_generic(body, mapping)
        return [replace(signal, dedup_key=event.dedup_key, group_key=event.dedup_key)]
    # Heartbeats and user reports are written by Vigil itself.
    return [
        AlertSignal(
            action=event.action,
            dedup_key=event.dedup_key,
            summary=str(body.get("summary", ""))[:1024],
            sender_severity=str(body.get("severity", "")),
            details=body,
            group_key=event.dedup_key,
        )
    ]
