"""What each figure measures: one definition, used by every interface.

docs/metrics.md states the same formulas; a measure is the time between two
of an incident's timestamps, counted over the incidents that have both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    start: str
    end: str

    def seconds(self, row: dict[str, Any]) -> float | None:
        """Return the measure of one incident row, or None when it has not
        reached `end` (or a clock skew put `end` before `start`)."""
        start: datetime | None = row[self.start]
        end: datetime | None = row[self.end]
        if start is None or end is None or end < start:
            return None
        return (end - start).total_seconds()


MEASURES = (
    Measure("time_to_detect", "Time to detect (MTTD)", "started_at", "detected_at"),
    Measure(
        "time_to_acknowledge",
        "Time to acknowledge (MTTA)",
        "detected_at",
        "acknowledged_at",
    ),
    Measure("time_to_mitigate", "Time to mitigate", "detected_at", "mitigated_at"),
    Measure("time_to_resolve", "Time to resolve (MTTR)", "detected_at", "resolved_at"),
    Measure("impact_duration", "Impact duration", "started_at", "resolved_at"),
)
MEASURE_BY_KEY = {measure.key: measure for measure in MEASURES}
STATISTICS = ("count", "mean", "p50", "p90")
PERCENTILES = {"p50": 0.5, "p90": 0.9}

GROUPINGS = ("severity", "service", "team", "category", "period")
PERIODS = ("day", "week", "month", "quarter")


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Return the `fraction` percentile of sorted values, interpolated
    between the two nearest ranks (PostgreSQL's percentile_cont)."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def summary(values: list[float]) -> dict[str, float | int | None]:
    """Return count, mean, p50 and p90 of the values (seconds)."""
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "mean": sum(ordered) / len(ordered) if ordered else None,
        **{name: percentile(ordered, f) for name, f in PERCENTILES.items()},
    }
