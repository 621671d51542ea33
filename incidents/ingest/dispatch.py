"""Turn a stored event back into signals, whatever its source."""

from __future__ import annotations

from config.strict_json import DEPTH_CEILING
from incidents.ingest.formats import FORMATS
from incidents.ingest.signals import AlertSignal
from incidents.models import AlertEvent
from incidents.models.fields import UnreadableJSON


def signals_of(event: AlertEvent) -> list[AlertSignal]:
    """Return the signals of a stored event (raises InvalidEvent if corrupt,
    ValueError if its payload cannot be read at all)."""
    body = event.payload
    if isinstance(body, UnreadableJSON):
        raise ValueError(f"the payload is nested deeper than {DEPTH_CEILING} levels")
    return FORMATS[event.source].read(event)
