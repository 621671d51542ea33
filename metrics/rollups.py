"""Per-day, per-week and per-month rollups of the response-time figures:
what a cell holds and how cells and raw incident rows add up to one group's
figures.

A cell is the incidents detected on one UTC day that share local day,
service, team, severity, category and drill flag. It holds their counts and,
per measure, a histogram of the durations in buckets about 2 % wide: the
mean stays exact (the bucket keeps the sum), a percentile is within 1 % (or
half a second, below one second) of the exact one. A shaped cell adds up
the day cells of a UTC day, ISO week or month by local day, week or month,
team, severity, drill flag and, by its shape, service, category, both or
neither (and by every team together), in buckets SHAPE_BUCKETS
day buckets wide: a percentile within 5 %; reads take only shaped cells.
Its histograms of every measure are one packed value (HISTOGRAM), and its
sums another (TOTALS), which numpy adds up. docs/metrics.md has the whole
scheme.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from metrics.definitions import MEASURES, PERCENTILES, summary

GAMMA = 1.02  # each bucket spans [GAMMA**k, GAMMA**(k+1)) seconds
LOG_GAMMA = math.log(GAMMA)
# A shaped cell's bucket is this many day buckets: [GAMMA**(5k),
# GAMMA**(5k+5)), about 10 % wide, so a percentile from them is within 5 %.
SHAPE_BUCKETS = 5
# Keys of a day cell besides its UTC day, in the order the reads answer them.
CELL_KEYS = ("local_day", "service_id", "team_id", "severity", "category", "is_drill")
# A shaped cell's histograms, packed: a (measure, bucket, count) triple for
# each bucket a measure's durations took, end to end, four bytes each: the
# measure's place in MEASURES, the bucket (below 256: every duration under
# about 2,600 years) and the count (one over 65535 takes several triples of
# its bucket). Packed values joined end to end are the histograms of their
# cells together (a bucket may then come more than once).
HISTOGRAM = np.dtype([("measure", "u1"), ("bucket", "u1"), ("count", "<u2")])
PAIR_COUNT = np.iinfo(np.uint16).max
PAIR_BUCKET = np.iinfo(np.uint8).max
# Each measure's columns of a group's figures, by figure.
COLUMNS = tuple(
    {name: f"{measure.key}_{name}" for name in ("count", "mean", *PERCENTILES)}
    for measure in MEASURES
)
# A shaped cell's sums of seconds, one per measure in MEASURES' order: joined
# end to end, the sums of their cells one after the other.
TOTALS = np.dtype(("<f8", len(MEASURES)))


def pack(histograms: dict[str, dict[int, int]]) -> bytes:
    """Return a cell's histograms (buckets and counts by measure key) as one
    packed value (a bucket past the last one a triple holds counts in the
    last)."""
    triples = []
    for place, measure in enumerate(MEASURES):
        for index, count in sorted(histograms.get(measure.key, {}).items()):
            full, part = divmod(count, PAIR_COUNT)
            bucket = min(index, PAIR_BUCKET)
            triples += [(place, bucket, PAIR_COUNT)] * full
            if part:
                triples.append((place, bucket, part))
    return np.array(triples, dtype=HISTOGRAM).tobytes()


def pack_totals(totals: dict[str, float]) -> bytes:
    """Return a cell's sums of seconds (by measure key) as one packed value."""
    return np.array(
        tuple(totals.get(measure.key, 0.0) for measure in MEASURES), dtype=TOTALS
    ).tobytes()


def _owners(packed: list[bytes], dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Return the items of `dtype` of the `packed` values joined end to end,
    and the value (its place in `packed`) each item comes from."""
    items = np.frombuffer(b"".join(packed), dtype=dtype)
    sizes = np.fromiter(map(len, packed), dtype=np.intp, count=len(packed))
    return items, np.repeat(np.arange(len(packed)), sizes // dtype.itemsize)


def unpack(packed: list[bytes]) -> np.ndarray:
    """Return, for each of the `packed` values (each one or more cells'
    histograms joined end to end), the counts by measure (in MEASURES'
    order) and bucket (up to the last one any of them holds): every triple
    added to its value, measure and bucket at once."""
    triples, owners = _owners(packed, HISTOGRAM)
    width = int(triples["bucket"].max(initial=0)) + 1
    shape = (len(packed), len(MEASURES), width)
    slots = (owners * len(MEASURES) + triples["measure"]) * width + triples["bucket"]
    added = np.bincount(slots, weights=triples["count"], minlength=math.prod(shape))
    return added.reshape(shape)


def unpack_totals(packed: list[bytes]) -> np.ndarray:
    """Return, for each of the `packed` values (each one or more cells' sums
    joined end to end), the sums of seconds by measure (in MEASURES' order)."""
    sums, owners = _owners(packed, TOTALS)
    found = np.zeros((len(packed), len(MEASURES)))
    np.add.at(found, owners, sums)
    return found


def bucket_indices(seconds: list[float]) -> np.ndarray:
    """Return the bucket of each duration: 0 below one second, else k + 1
    for [GAMMA**k, GAMMA**(k+1)) (as the database buckets a cell's)."""
    values = np.asarray(seconds, dtype=float)
    found = 1 + np.floor(np.log(np.maximum(values, 1)) / LOG_GAMMA)
    return np.where(values < 1, 0, found).astype(np.intp)


def coarsen(indices: np.ndarray, wider: int) -> np.ndarray:
    """Return the buckets `wider` day buckets wide that hold the day buckets
    `indices`."""
    return np.where(indices == 0, 0, 1 + (indices - 1) // wider)


def representative(index: np.ndarray, width: int) -> np.ndarray:
    """Return the value each bucket `width` day buckets wide (by index)
    stands for: the point within 1 % (one day bucket) or 5 % (a shaped
    cell's bucket) of every duration in it; half a second for bucket 0."""
    gamma = GAMMA**width
    return np.where(index == 0, 0.5, 2 * gamma ** (index - 1.0) * gamma / (gamma + 1))


def bucketed_percentiles(
    histograms: np.ndarray, fractions: dict[str, float], width: int
) -> dict[str, list[float | None]]:
    """Return each of the `fractions` percentiles (by name) of each row of
    `histograms` (counts by bucket `width` day buckets wide), interpolated
    between the two nearest ranks as `definitions.percentile` does: None
    for an empty one. One running count per row, and every rank's bucket
    (the first whose running count passes it) found for all rows at once."""
    cumulative = np.cumsum(histograms, axis=1)
    totals = cumulative[:, -1]
    found = {}
    for name, fraction in fractions.items():
        position = fraction * (totals - 1)
        below = np.floor(position)
        above = np.minimum(below + 1, totals - 1)
        first, second = (
            representative((cumulative > rank[:, None]).argmax(axis=1), width)
            for rank in (below, above)
        )
        values = first + (second - first) * (position - below)
        found[name] = [
            float(value) if total else None
            for value, total in zip(values, totals, strict=True)
        ]
    return found


def _plus(one: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Return two histograms' counts (by measure and bucket) added up,
    bucket by bucket."""
    if one.shape[1] < other.shape[1]:
        one, other = other, one
    added = one.astype(float)  # a copy
    added[:, : other.shape[1]] += other
    return added


@dataclass
class Tally:
    """One group's figures, added up from raw rows and from cells."""

    incidents: int = 0
    never_acknowledged: int = 0
    unresolved: int = 0
    values: dict[str, list[float]] = field(
        default_factory=lambda: {measure.key: [] for measure in MEASURES}
    )
    # Counts by measure (MEASURES' order) and bucket SHAPE_BUCKETS day
    # buckets wide, from shaped cells, and the sums of their seconds by
    # measure
    buckets: np.ndarray | None = None
    sums: np.ndarray = field(default_factory=lambda: np.zeros(len(MEASURES)))

    def add_row(self, row: dict[str, Any]) -> None:
        """Add one incident: its flags and each measure's seconds (None
        where it has none), as `metric_duration_rows` yields it."""
        self.incidents += 1
        self.never_acknowledged += row["never_acknowledged"]
        self.unresolved += row["unresolved"]
        for measure in MEASURES:
            seconds = row[measure.key]
            if seconds is not None:
                self.values[measure.key].append(seconds)

    def add_counts(
        self, incidents: int, never_acknowledged: int, unresolved: int
    ) -> None:
        self.incidents += incidents
        self.never_acknowledged += never_acknowledged
        self.unresolved += unresolved

    def add_buckets(self, counts: np.ndarray, sums: np.ndarray) -> None:
        """Add counts by measure and bucket SHAPE_BUCKETS day buckets wide
        whose durations sum, by measure, to `sums`."""
        held = self.buckets
        self.buckets = counts if held is None else _plus(held, counts)
        self.sums = self.sums + sums

    def histogram(self) -> np.ndarray:
        """Return the buckets and raw values of every measure in one
        histogram of buckets SHAPE_BUCKETS day buckets wide (counts by
        measure and bucket)."""
        if self.buckets is None:
            return self._raw()
        if any(self.values.values()):
            return _plus(self.buckets, self._raw())
        return self.buckets

    def _raw(self) -> np.ndarray:
        """Return the raw values' counts by measure and bucket SHAPE_BUCKETS
        day buckets wide."""
        places = [
            coarsen(bucket_indices(self.values[measure.key]), SHAPE_BUCKETS)
            for measure in MEASURES
        ]
        size = 1 + max(int(found.max(initial=0)) for found in places)
        slots = np.concatenate(
            [place * size + found for place, found in enumerate(places)]
        )
        counts = np.bincount(slots, minlength=len(MEASURES) * size)
        return counts.reshape(len(MEASURES), size)


def tally_figures(tallies: dict[str, Tally]) -> dict[str, dict[str, Any]]:
    """Return each group's figures: its counts, and per measure the count,
    mean, p50 and p90; exact from raw values alone, else from the histogram
    of its buckets and values (`_bucketed_figures`)."""
    results: dict[str, dict[str, Any]] = {}
    bucketed: list[tuple[str, Tally]] = []
    for key, tally in tallies.items():
        result: dict[str, Any] = {
            "incidents": tally.incidents,
            "never_acknowledged": tally.never_acknowledged,
            "unresolved": tally.unresolved,
        }
        if tally.buckets is not None:
            bucketed.append((key, tally))
        else:
            for measure, columns in zip(MEASURES, COLUMNS, strict=True):
                for name, value in summary(tally.values[measure.key]).items():
                    result[columns[name]] = value
        results[key] = result
    if bucketed:
        found = _bucketed_figures([tally for _, tally in bucketed])
        for (key, _), figures in zip(bucketed, found, strict=True):
            results[key] |= figures
    return results


def _bucketed_figures(tallies: list[Tally]) -> list[dict[str, Any]]:
    """Return the measures' figures of tallies that have buckets: of each
    tally's buckets and raw values in one histogram of buckets SHAPE_BUCKETS
    day buckets wide, the counts, the means (of the buckets' sums and the
    values) and the percentiles, for every tally and measure at once."""
    parts = [tally.histogram() for tally in tallies]
    matrix = np.zeros((len(parts), len(MEASURES), max(p.shape[1] for p in parts)))
    for n, part in enumerate(parts):
        matrix[n, :, : part.shape[1]] = part
    counts = matrix.sum(axis=2)
    totals = np.array([tally.sums for tally in tallies]) + [
        [math.fsum(tally.values[measure.key]) for measure in MEASURES]
        for tally in tallies
    ]
    means = np.divide(totals, counts, out=np.zeros_like(totals), where=counts > 0)
    percentiles = bucketed_percentiles(
        matrix.reshape(-1, matrix.shape[2]), PERCENTILES, SHAPE_BUCKETS
    )
    found = []
    for n, (counted, meant) in enumerate(
        zip(counts.astype(int).tolist(), means.tolist(), strict=True)
    ):
        figures: dict[str, Any] = {}
        for place, columns in enumerate(COLUMNS):
            count = counted[place]
            figures[columns["count"]] = count
            figures[columns["mean"]] = meant[place] if count else None
            for name, values in percentiles.items():
                figures[columns[name]] = values[n * len(MEASURES) + place]
        found.append(figures)
    return found


def runs(
    firsts: list[date], following: Callable[[date], date]
) -> list[tuple[date, date]]:
    """Return the ascending `firsts` as runs (first, last), each value's
    `following` one the next in its run."""
    found: list[tuple[date, date]] = []
    for first in firsts:
        if found and following(found[-1][1]) == first:
            found[-1] = (found[-1][0], first)
        else:
            found.append((first, first))
    return found


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Return the ascending days as runs of consecutive days (first, last)."""
    return runs(days, lambda day: day + timedelta(days=1))


def month_end(month: date) -> date:
    """Return the first day of the month after the one `month` starts."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def grain_start(day: date, grain: str) -> date:
    """Return the first day of the day, ISO week (Monday) or month of `day`."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def grain_end(start: date, grain: str) -> date:
    """Return the first day after the day, week or month that begins on
    `start`."""
    if grain == "month":
        return month_end(start)
    return start + timedelta(days=7 if grain == "week" else 1)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(), tzinfo=UTC)
