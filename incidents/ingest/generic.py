"""Any JSON, read through the integration's field mapping."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from incidents.ingest.signals import (
    ACKNOWLEDGE,
    RESOLVE,
    TRIGGER,
    AlertSignal,
    IngestFormat,
    InvalidEvent,
)

if TYPE_CHECKING:
    from incidents.models import AlertEvent

DEFAULT_FIELDS = {
    "title": "title",
    "severity": "severity",
    "dedup_key": "dedup_key",
    "action": "action",
}
RESOLVE_WORDS = {"resolve", "resolved", "ok", "recovered", "closed", "up"}
ACKNOWLEDGE_WORDS = {"acknowledge", "acknowledged", "ack"}


def lookup(body: Any, path: str) -> Any:
    """Return the value at a dotted path (`a.b.0.c`), or None."""
    value = body
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def parse_generic(body: Any, mapping: dict[str, str]) -> AlertSignal:
    """Return the signal of a generic webhook body, or raise InvalidEvent.

    A trigger without a dedup key at its path has an empty one here; the
    request path generates one and stores it with the event.
    """
    fields = {**DEFAULT_FIELDS, **mapping}
    if not isinstance(body, dict):
        raise InvalidEvent(
            ["the body must be a JSON object"], message="Body is invalid"
        )
    action_word = (_text(lookup(body, fields["action"])) or TRIGGER).lower()
    if action_word in RESOLVE_WORDS:
        action = RESOLVE
    elif action_word in ACKNOWLEDGE_WORDS:
        action = ACKNOWLEDGE
    else:
        action = TRIGGER
    dedup_key = _text(lookup(body, fields["dedup_key"]))
    title = _text(lookup(body, fields["title"]))
    errors = []
    if action == TRIGGER and title is None:
        errors.append(f"'{fields['title']}' (the title) is missing or blank")
    if action != TRIGGER and dedup_key is None:
        errors.append(
            f"'{fields['dedup_key']}' (the dedup key) is required to {action}"
        )
    if dedup_key is not None and len(dedup_key) > 255:
        errors.append(f"'{fields['dedup_key']}' must be at most 255 characters")
    if errors:
        raise InvalidEvent(errors, message="Body is invalid")
    return AlertSignal(
        action=action,
        dedup_key=dedup_key or "",
        summary=(title or "")[:1024],
        sender_severity=_text(lookup(body, fields["severity"])) or "",
        details={"body": body},
        group_key=dedup_key or "",
    )


def _read(event: AlertEvent) -> list[AlertSignal]:
    mapping = event.integration.field_mapping if event.integration else {}
    signal = parse_generic(event.payload, mapping)
    return [replace(signal, dedup_key=event.dedup_key, group_key=event.dedup_key)]


FORMAT = IngestFormat(
    kind="generic",
    routes=(
        ("ingest/generic/", "incidents.ingest.views.generic_webhook", "ingest-generic"),
    ),
    read=_read,
)
