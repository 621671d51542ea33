"""What every wire format is parsed into before it touches the database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from incidents.models import AlertEvent


class InvalidEvent(Exception):
    """The body is not a valid event; `errors` say why, one line each."""

    def __init__(self, errors: list[str], message: str = "Event object is invalid"):
        super().__init__(message)
        self.message = message
        self.errors = errors


@dataclass(frozen=True)
class AlertSignal:
    """One thing a sender says about one alert."""

    action: str  # trigger | acknowledge | resolve
    dedup_key: str
    summary: str = ""
    sender_severity: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    group_key: str = ""
    occurred_at: datetime | None = None


def parse_instant(value: Any) -> datetime | None:
    """Return an ISO 8601 date-time with an offset, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class Refused(Exception):
    """The request is refused before its event is read: `status` is the
    HTTP status, `errors` say why, one line each."""

    def __init__(self, status: int, message: str, errors: list[str]) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


class KeyPlace(Enum):
    """Where a format's senders put the integration key."""

    # The JSON body's `routing_key`, as PagerDuty's Events API v2 does; the
    # body is read before the key.
    ROUTING_KEY = "routing_key"
    # `Authorization: Bearer <key>` or else `?token=<key>`, read before the body.
    HEADER_OR_QUERY = "header_or_query"


TRIGGER, ACKNOWLEDGE, RESOLVE = "trigger", "acknowledge", "resolve"
ACTIONS = (TRIGGER, ACKNOWLEDGE, RESOLVE)


@dataclass(frozen=True)
class IngestFormat:
    """One wire format Vigil takes alerts in, as incidents/ingest/formats.py
    lists them: a new format is a module that defines one of these (with its
    parser and view) and its line there.

    - `kind`: the integration kind, also the `source` of the events stored;
    - `routes`: (URL path, dotted path of the view, URL name, what an
      integration's `urls` call it), each mounted at the site root by
      config/urls.py;
    - `read`: the signals of one stored event of this source (the worker
      calls it; raises InvalidEvent);
    - `severity_mapping`: the sender's severities to P0-P3 where the
      integration maps none of its own;
    - `key_place`: where its senders put the integration key, as
      incidents/ingest/auth.py's `request_key` reads it.
    """

    kind: str
    routes: tuple[tuple[str, str, str, str], ...]
    read: Callable[[AlertEvent], list[AlertSignal]]
    severity_mapping: dict[str, str] = field(default_factory=dict)
    key_place: KeyPlace = KeyPlace.HEADER_OR_QUERY
