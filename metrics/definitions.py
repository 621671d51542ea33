"""What each figure measures: one definition, used by every interface.

docs/metrics.md states the same formulas; a measure is the time between two
of an incident's timestamps, counted over the incidents that have both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    """The time from an incident's `start` to its `end` timestamp, over the
    incidents that reached `end` after `start` (an end before the start, a
    skewed clock, counts in no figure): the database computes it
    (`DURATIONS`)."""

    key: str
    label: str
    start: str
    end: str


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
# Each measure's timestamp fields, as the incidents' selectors take them.
DURATIONS = {measure.key: (measure.start, measure.end) for measure in MEASURES}
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
