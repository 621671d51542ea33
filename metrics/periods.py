"""Calendar periods in a team's time zone."""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache
from zoneinfo import ZoneInfo


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=4096)  # a request labels each of its days many times
def day_label(local: date, period: str) -> str:
    """Return the period label of a local calendar day."""
    if period == "day":
        return local.isoformat()
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{local.year}-{local.month:02d}"
    if period == "quarter":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    raise ValueError(f"not a period: {period}")
