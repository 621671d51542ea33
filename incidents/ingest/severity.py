"""From a sender's severity (and labels) to a row of the severity matrix."""

from __future__ import annotations

from incidents.ingest.formats import FORMATS
from incidents.models import Integration

LEVELS = ("P0", "P1", "P2", "P3")
# A label (or the sender's severity itself) that names a Vigil severity
# directly wins over any mapping, so that e.g. a PagerDuty `critical` is P1
# unless its custom details say P0.
OVERRIDE_LABELS = ("vigil_severity", "priority", "severity")


def map_severity(
    *, integration: Integration | None, sender_severity: str, labels: dict[str, str]
) -> str:
    """Return the severity code (P0-P3) an alert opens its incident with."""
    for value in (*(labels.get(name, "") for name in OVERRIDE_LABELS), sender_severity):
        if str(value).upper() in LEVELS:
            return str(value).upper()
    if integration is None:
        return "P2"
    known = FORMATS.get(integration.kind)
    defaults = known.severity_mapping if known is not None else {}
    mapping = {**defaults, **integration.severity_mapping}
    mapped = mapping.get(sender_severity.lower()) or mapping.get(sender_severity)
    if isinstance(mapped, str) and mapped.upper() in LEVELS:
        return mapped.upper()
    return integration.default_severity
