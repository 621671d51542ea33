"""IANA time zone names as stored settings (schedules, teams)."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError


def validate_time_zone(name: str) -> None:
    """Refuse a name that is not an IANA time zone."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(name)r is not an IANA time zone (like Europe/Berlin).",
            params={"name": name},
            code="time_zone",
        ) from None
