"""The metrics app's own rows: the workers' heartbeats."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker last ran the heartbeat task: Prometheus reads its age."""

    worker = models.CharField(max_length=200, primary_key=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["worker"]

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class RollupState(models.Model):
    """How far the rollups reach: UTC days in [covered_from, covered_until)
    have cells (less the dirty ones), built under `fingerprint` (the severity
    targets and every service's team and time zone)."""

    covered_from = models.DateField(null=True, blank=True)
    covered_until = models.DateField(null=True, blank=True)
    fingerprint = models.TextField(blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"rollups {self.covered_from} to {self.covered_until}"


class RollupDirty(models.Model):
    """A UTC day with an incident changed since its cells were built: read
    from the incidents until the refresh rebuilds it."""

    day = models.DateField(primary_key=True)
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day}"


class RollupKeys(models.Model):
    """What a cell is about: the UTC day its incidents were detected on and
    their keys (ids and codes of the incident core, kept as plain values)."""

    day = models.DateField()
    local_day = models.DateField(help_text="The detection day in the team's zone.")
    service_id = models.BigIntegerField()
    team_id = models.BigIntegerField()
    severity = models.CharField(max_length=2)
    category = models.CharField(max_length=24)
    is_drill = models.BooleanField()

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["day"])]


class CellCounts(models.Model):
    """How many incidents a cell holds, never acknowledged and unresolved;
    how many had missed the acknowledge and the resolve target when the cell
    was built; how many status updates the resolved ones that posted none
    were due (each one missed); how many repeat an earlier incident; how
    many missed either target (the breach list's count); and how many are
    unresolved without a status update, with the sum of their cadence
    quotients (`RollupOpenUpdate` has the rest of what their missed updates
    add up to at any moment)."""

    incidents = models.PositiveIntegerField()
    never_acknowledged = models.PositiveIntegerField()
    unresolved = models.PositiveIntegerField()
    ack_breaches = models.PositiveIntegerField(default=0)
    resolve_breaches = models.PositiveIntegerField(default=0)
    updates_missed = models.PositiveIntegerField(default=0)
    repeats = models.PositiveIntegerField(default=0)
    breaches = models.PositiveIntegerField(default=0)
    open_unposted = models.PositiveIntegerField(default=0)
    open_periods = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class BucketCounts(models.Model):
    """How many incidents of a cell took a measure's bucket of durations, and
    their sum in seconds."""

    measure = models.CharField(max_length=24)
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()
    total = models.FloatField()

    class Meta:
        abstract = True


class RollupCell(RollupKeys, CellCounts):
    """The incidents detected on one UTC day that share the keys: their counts."""

    class Meta(RollupKeys.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.day} {self.service_id} {self.severity} {self.category}"


class RollupBucket(RollupKeys, BucketCounts):
    """A day cell's bucket of a measure (the cell's keys repeated, to filter
    without a join)."""

    class Meta(RollupKeys.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.bucket}: {self.count}"


class RollupOpenUpdate(RollupKeys):
    """An unresolved incident of a day cell that has posted no status
    update: the remainder of its detection time (microseconds since the
    epoch) by its severity's update cadence. By a moment whose quotient and
    remainder by the cadence are Q and R, the cell's `open_unposted`
    incidents have missed open_unposted * (Q - 1) - open_periods updates,
    plus one for each of them whose remainder is below R."""

    remainder = models.BigIntegerField()

    class Meta(RollupKeys.Meta):
        # How many of a severity's remainders are below a bound: a range of
        # this index, counted from it alone (the keys a request filters on
        # are included).
        indexes = [
            *RollupKeys.Meta.indexes,
            models.Index(
                fields=["severity", "is_drill", "remainder"],
                include=["day", "team_id", "service_id", "category"],
                name="rollup_open_remainder_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.severity}: {self.remainder}"


class RollupShapeKeys(models.Model):
    """What a shaped cell is about: its grain (a UTC day, ISO week or month)
    and the first day of it (`start`), its incidents' local day, week or
    month in the team's zone (its first day), team, severity and drill flag; and their
    service and category, or 0 and "" where the cell adds up all of the
    team's services or all categories: its shape, 1 if it keeps the service
    plus 2 if it keeps the category, plus 4 if it adds up every team (team
    0), plus 8 if it adds up every severity too (severity ""). A question
    reads the coarsest shape that can answer it."""

    grain = models.CharField(max_length=5)
    shape = models.PositiveSmallIntegerField()
    start = models.DateField()
    local_start = models.DateField(
        help_text="The detection day, week or month in the team's zone."
    )
    team_id = models.BigIntegerField(help_text="0: every team.")
    service_id = models.BigIntegerField(help_text="0: all of the team's services.")
    category = models.CharField(
        max_length=24, blank=True, help_text="Empty: all categories."
    )
    severity = models.CharField(
        max_length=2, blank=True, help_text="Empty: every severity."
    )
    is_drill = models.BooleanField()

    class Meta:
        abstract = True
        # A span of days of one shape, with the team tested in the index:
        # one team's cells are a few of the shape's. And the severities and
        # categories asked for first, where they leave few of the shape's
        # cells: reading the rest from the table and dropping them cost
        # more than the cells kept.
        indexes = [
            models.Index(fields=["grain", "shape", "start", "team_id"]),
            models.Index(
                fields=["grain", "shape", "is_drill", "severity", "category", "start"]
            ),
        ]


class RollupShapeCell(RollupShapeKeys, CellCounts):
    """The day cells of one UTC day, week or month added up by the shaped
    cell's keys: their counts, and their histograms of every measure in
    buckets SHAPE_BUCKETS day buckets wide: the (measure, bucket, count)
    triples packed as `rollups.HISTOGRAM` in one value, however many
    measures and buckets, and the sums of their durations in seconds,
    packed as `rollups.TOTALS`."""

    histograms = models.BinaryField()
    totals = models.BinaryField()

    class Meta(RollupShapeKeys.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.grain} {self.start} {self.team_id} {self.severity}"


class RollupDeclared(models.Model):
    """How many incidents detected on one UTC day were declared, by severity
    and drill flag: every incident, cancelled and restricted ones too (what
    Prometheus counts, the days the rollups hold)."""

    day = models.DateField()
    severity = models.CharField(max_length=2)
    is_drill = models.BooleanField()
    incidents = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.severity}: {self.incidents}"
