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
from functools import lru_cache
from operator import itemgetter
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
# Each measure's columns in that order: count, mean, then the percentiles.
MEASURE_COLUMNS = tuple(tuple(columns.values()) for columns in COLUMNS)
# A group's counts of incidents besides its measures.
COUNTS = ("incidents", "never_acknowledged", "unresolved")
# A group's row: its name, its counts, then each measure's columns.
ROW = ("group", *COUNTS, *sum(MEASURE_COLUMNS, ()))
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


def unpack(
    packed: list[bytes], groups: np.ndarray, signs: np.ndarray, size: int
) -> np.ndarray:
    """Return the counts by group (`size` of them), measure (in MEASURES'
    order) and bucket (up to the last one any of them holds) of the
    `packed` values (each one or more cells' histograms joined end to
    end), each value added to its group (`groups`) with its sign (`signs`:
    -1 where taken away): every triple at once, each to its slot (its
    value's group's first, plus its measure's and bucket's place there),
    in as few passes over them as numpy can."""
    joined = b"".join(packed)
    # A triple as two little-endian 16-bit numbers: its measure and bucket
    # (the bucket the high byte), and its count.
    pairs = np.frombuffer(joined, dtype="<u2")
    width = int(np.frombuffer(joined, dtype=np.uint8)[1::4].max(initial=0)) + 1
    held = np.fromiter(map(len, packed), dtype=np.intp, count=len(packed))
    held //= HISTOGRAM.itemsize
    slots = np.repeat(groups * (len(MEASURES) * width), held)
    slots += _places(width)[pairs[0::2]]
    counts = pairs[1::2]
    weights = counts if (signs > 0).all() else counts * np.repeat(signs, held)
    shape = (size, len(MEASURES), width)
    added = np.bincount(slots, weights=weights, minlength=math.prod(shape))
    return added.reshape(shape)


@lru_cache(maxsize=8)  # half a megabyte each; a request's width is its data's
def _places(width: int) -> np.ndarray:
    """Return, for each measure and bucket read as one 16-bit number (as
    `unpack` reads them), its place in a group's counts by measure and
    bucket up to `width` buckets."""
    pair = np.arange(1 << 16)
    return (pair & 0xFF) * width + (pair >> 8)


def unpack_totals(
    packed: list[bytes], groups: np.ndarray, signs: np.ndarray, size: int
) -> np.ndarray:
    """Return the sums of seconds by group (`size` of them) and measure (in
    MEASURES' order) of the `packed` values (each one or more cells' sums
    joined end to end), each value added to its group (`groups`) with its
    sign (`signs`)."""
    sums = np.frombuffer(b"".join(packed), dtype=TOTALS)
    held = np.fromiter(map(len, packed), dtype=np.intp, count=len(packed))
    held //= TOTALS.itemsize
    found = np.zeros((size, len(MEASURES)))
    np.add.at(found, np.repeat(groups, held), sums * np.repeat(signs, held)[:, None])
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
) -> dict[str, np.ndarray]:
    """Return each of the `fractions` percentiles (by name) of each row of
    `histograms` (counts by bucket `width` day buckets wide), interpolated
    between the two nearest ranks as `definitions.percentile` does: NaN
    for an empty one. One running count per row, and every rank's bucket
    (the first whose running count passes it) found for all rows at once."""
    cumulative = np.cumsum(histograms, axis=1)
    totals = cumulative[:, -1]
    rows = np.arange(len(cumulative))
    found = {}
    for name, fraction in fractions.items():
        position = fraction * (totals - 1)
        below = np.floor(position)
        above = np.minimum(below + 1, totals - 1)
        lower = (cumulative > below[:, None]).argmax(axis=1)
        # The next rank is mostly in the same bucket: searched for only in
        # the rows where that bucket's running count does not pass it.
        upper = lower.copy()
        past = cumulative[rows, lower] <= above
        upper[past] = (cumulative[past] > above[past, None]).argmax(axis=1)
        first, second = representative(lower, width), representative(upper, width)
        values = first + (second - first) * (position - below)
        found[name] = np.where(totals > 0, values, np.nan)
    return found


@dataclass
class Tally:
    """One group's incidents read one by one: their counts and each
    measure's seconds."""

    incidents: int = 0
    never_acknowledged: int = 0
    unresolved: int = 0
    values: dict[str, list[float]] = field(
        default_factory=lambda: {measure.key: [] for measure in MEASURES}
    )

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

    def counts(self) -> tuple[int, int, int]:
        """Return its counts in COUNTS' order."""
        return (self.incidents, self.never_acknowledged, self.unresolved)

    def histogram(self) -> np.ndarray:
        """Return the values' counts by measure and bucket SHAPE_BUCKETS day
        buckets wide."""
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


@dataclass(frozen=True)
class Cells:
    """Groups' figures from shaped cells, one row a group (by `labels`):
    their counts (COUNTS), their counts by measure (in MEASURES' order) and
    bucket SHAPE_BUCKETS day buckets wide, and their sums of seconds by
    measure."""

    labels: list[str]
    counts: np.ndarray
    histograms: np.ndarray
    sums: np.ndarray

    @classmethod
    def read(cls, rows: list[tuple[Any, ...]]) -> Cells:
        """Return the figures of the groups of `rows` (label, incidents,
        never acknowledged, unresolved, packed histograms, packed sums,
        sign), each of one or more cells of its group, added up group by
        group, less the groups left with no incidents (a row with sign -1
        is taken away)."""
        places: dict[str, int] = {}
        groups = np.fromiter(
            (places.setdefault(row[0], len(places)) for row in rows),
            dtype=np.intp,
            count=len(rows),
        )
        signs = np.fromiter((row[6] for row in rows), dtype=np.int64, count=len(rows))
        counts = np.zeros((len(places), len(COUNTS)), dtype=np.int64)
        np.add.at(
            counts,
            groups,
            np.array([row[1:4] for row in rows], dtype=np.int64).reshape(-1, 3)
            * signs[:, None],
        )
        histograms = unpack([row[4] for row in rows], groups, signs, len(places))
        sums = unpack_totals([row[5] for row in rows], groups, signs, len(places))
        kept = counts[:, 0] > 0
        if kept.all():
            return cls(list(places), counts, histograms, sums)
        return cls(
            [label for label, keep in zip(places, kept, strict=True) if keep],
            counts[kept],
            histograms[kept],
            sums[kept],
        )


def tally_figures(tallies: dict[str, Tally], cells: Cells) -> list[dict[str, Any]]:
    """Return one row per group, by group: its name (`group`), its counts,
    and per measure the count, mean, p50 and p90; exact for a group read
    only from incidents (its tally), else from the histogram of its cells
    and values (`_bucketed_figures`)."""
    celled = set(cells.labels)
    found: list[dict[str, Any]] = []
    for key, tally in tallies.items():
        if key in celled:
            continue
        row: dict[str, Any] = {"group": key}
        row |= zip(COUNTS, tally.counts(), strict=True)
        for measure, columns in zip(MEASURES, COLUMNS, strict=True):
            for name, value in summary(tally.values[measure.key]).items():
                row[columns[name]] = value
        found.append(row)
    if cells.labels:
        found += _bucketed_figures(cells, tallies)
    return sorted(found, key=itemgetter("group"))


def _bucketed_figures(cells: Cells, tallies: dict[str, Tally]) -> list[dict[str, Any]]:
    """Return the rows of the cells' groups with the values of their
    tallies added: of each group's histogram, the counts, the means (of the
    sums and the values) and the percentiles, for every group and measure
    at once."""
    counts, histograms, sums = cells.counts, cells.histograms, cells.sums
    places = {label: n for n, label in enumerate(cells.labels)}
    mixed = [(places[key], tally) for key, tally in tallies.items() if key in places]
    if mixed:
        raw = [tally.histogram() for _, tally in mixed]
        width = max(histograms.shape[2], *(found.shape[1] for found in raw))
        histograms = np.pad(
            histograms, ((0, 0), (0, 0), (0, width - histograms.shape[2]))
        )
        counts, sums = counts.copy(), sums.copy()
        for (n, tally), found in zip(mixed, raw, strict=True):
            histograms[n, :, : found.shape[1]] += found
            counts[n] += tally.counts()
            sums[n] += [math.fsum(tally.values[measure.key]) for measure in MEASURES]
    measured = histograms.sum(axis=2)
    counted = measured > 0
    means = np.divide(sums, measured, out=np.zeros_like(sums), where=counted)
    percentiles = bucketed_percentiles(
        histograms.reshape(-1, histograms.shape[2]), PERCENTILES, SHAPE_BUCKETS
    )
    # Every figure of every group and measure, in ROW's order, as Python
    # numbers: None for the mean and percentiles of a measure without any.
    table = np.empty((*measured.shape, len(MEASURE_COLUMNS[0])), dtype=object)
    table[..., 0] = measured.astype(np.int64)
    table[..., 1] = means
    for place, name in enumerate(PERCENTILES, start=2):
        table[..., place] = percentiles[name].reshape(measured.shape)
    table[~counted, 1:] = None
    labels = np.array(cells.labels, dtype=object)[:, None]
    rows = np.concatenate(
        [labels, counts.astype(object), table.reshape(len(table), -1)], axis=1
    )
    return [dict(zip(ROW, row, strict=True)) for row in rows.tolist()]


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
