"""PagerDuty Events API v2: validation and parsing, as PagerDuty does it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from incidents.ingest.signals import (
    ACTIONS,
    TRIGGER,
    AlertSignal,
    IngestFormat,
    InvalidEvent,
    KeyPlace,
    parse_instant,
)

if TYPE_CHECKING:
    from incidents.models import AlertEvent

SEVERITIES = ("critical", "error", "warning", "info")
DEFAULT_MAPPING = {"critical": "P1", "error": "P2", "warning": "P3", "info": "P3"}


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _timestamp(value: Any, errors: list[str]) -> datetime | None:
    if value is None:
        return None
    parsed = parse_instant(value)
    if parsed is None:
        errors.append("'payload.timestamp' must be an ISO 8601 date-time with offset")
    return parsed


def _validate_list(
    body: dict[str, Any], name: str, key: str, errors: list[str]
) -> None:
    items = body.get(name)
    if items is None:
        return
    if not isinstance(items, list):
        errors.append(f"'{name}' must be an array")
        return
    for index, item in enumerate(items):
        if not isinstance(item, dict) or _blank(item.get(key)):
            errors.append(f"'{name}[{index}].{key}' is missing or blank")


def parse_event(body: dict[str, Any]) -> AlertSignal:
    """Return the alert signal of an Events v2 body, or raise InvalidEvent.

    The routing key has been checked by then; a trigger without a dedup key
    must have been given one by the caller.
    """
    errors: list[str] = []
    action = body.get("event_action")
    if _blank(action):
        errors.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup_key, str) and len(dedup_key) > 255:
        errors.append("'dedup_key' must be at most 255 characters")
    elif action in ACTIONS and action != TRIGGER and _blank(dedup_key):
        errors.append(f"'dedup_key' is required for {action}")
    payload = body.get("payload")
    occurred_at = None
    if action == TRIGGER:
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
            payload = {}
        for name in ("summary", "source", "severity"):
            if _blank(payload.get(name)):
                errors.append(f"'payload.{name}' is missing or blank")
        summary = payload.get("summary")
        if isinstance(summary, str) and len(summary) > 1024:
            errors.append("'payload.summary' must be at most 1024 characters")
        severity = payload.get("severity")
        if isinstance(severity, str) and severity and severity not in SEVERITIES:
            errors.append("'payload.severity' must be one of " + ", ".join(SEVERITIES))
        occurred_at = _timestamp(payload.get("timestamp"), errors)
    _validate_list(body, "images", "src", errors)
    _validate_list(body, "links", "href", errors)
    if errors:
        raise InvalidEvent(errors)
    if action != TRIGGER:
        return AlertSignal(action=str(action), dedup_key=str(dedup_key))
    assert isinstance(payload, dict)  # noqa: S101 - checked above
    custom = payload.get("custom_details")
    details = {
        key: payload[key]
        for key in ("source", "component", "group", "class")
        if isinstance(payload.get(key), str)
    }
    if custom is not None:
        details["custom_details"] = custom
    for key in ("links", "images", "client", "client_url"):
        if body.get(key):
            details[key] = body[key]
    labels = custom if isinstance(custom, dict) else {}
    return AlertSignal(
        action=TRIGGER,
        dedup_key=str(dedup_key),
        summary=str(payload["summary"]),
        sender_severity=str(payload["severity"]),
        labels={k: str(v) for k, v in labels.items() if isinstance(v, str)},
        details=details,
        group_key=str(dedup_key),
        occurred_at=occurred_at,
    )


def parse_change(body: dict[str, Any]) -> tuple[str, str, datetime | None]:
    """Return (summary, source, timestamp) of a change event, or raise."""
    errors: list[str] = []
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise InvalidEvent(["'payload' is missing or not an object"])
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'payload.summary' must be at most 1024 characters")
    source = payload.get("source", "")
    if not isinstance(source, str):
        errors.append("'payload.source' must be a string")
    timestamp = _timestamp(payload.get("timestamp"), errors)
    _validate_list(body, "links", "href", errors)
    if errors:
        raise InvalidEvent(errors)
    return str(summary), str(source)[:255], timestamp


def _read(event: AlertEvent) -> list[AlertSignal]:
    return [parse_event({**event.payload, "dedup_key": event.dedup_key})]


FORMAT = IngestFormat(
    kind="pagerduty",
    routes=(
        (
            "v2/enqueue",
            "incidents.ingest.views.pagerduty_enqueue",
            "ingest-pagerduty",
            "events",
        ),
        (
            "v2/change/enqueue",
            "incidents.ingest.views.pagerduty_change",
            "ingest-pagerduty-change",
            "change_events",
        ),
    ),
    read=_read,
    severity_mapping=DEFAULT_MAPPING,
    key_place=KeyPlace.ROUTING_KEY,
)
