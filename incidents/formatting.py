"""Human-readable renderings shared by messages, exports and the admin."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone


def human_duration(value: timedelta) -> str:
    """Return `value` as the SOPs write it: "15 min", "4 h", "1 d 2 h"."""
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes} min")
    return " ".join(parts)


def when(value: datetime | None) -> str:
    """Return `value` as messages print it (local time, to the minute)."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")
