"""On-call schedules: layers of rotations, their restrictions, overrides, feeds.

What the rows mean in time (wall-clock hand-offs, DST) is `escalation.oncall`'s
business; these models only store what people asked for.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from config.timezones import validate_time_zone
from escalation import oncall

MAX_SHIFT_COUNT = 1000


def new_token() -> str:
    """Return a fresh secret for a calendar feed URL."""
    return secrets.token_urlsafe(32)


class ShiftUnit(models.TextChoices):
    HOURS = oncall.HOURS, "hours (elapsed)"
    DAYS = oncall.DAYS, "days (wall clock)"
    WEEKS = oncall.WEEKS, "weeks (wall clock)"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Schedule(models.Model):
    """Who is on call for a team, in the team's time zone."""

    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        "incidents.Team", on_delete=models.PROTECT, related_name="schedules"
    )
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone],
        help_text="IANA name, like Europe/Berlin. Hand-offs and restrictions "
        "are local times in this zone.",
    )
    description = models.TextField(blank=True)
    ical_token = models.CharField(
        max_length=64, unique=True, default=new_token, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="unique_schedule_name_per_team"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Layer(models.Model):
    """One rotation of a schedule; a higher position wins where it has someone."""

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="layers"
    )
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(
        help_text="Priority: a higher layer wins where it has someone on call."
    )
    start_date = models.DateField(help_text="Local date of the first hand-off.")
    handoff_time = models.TimeField(help_text="Local time of the hand-off.")
    shift_count = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SHIFT_COUNT)],
        help_text="A shift is this many units long.",
    )
    shift_unit = models.CharField(
        max_length=8, choices=ShiftUnit.choices, default=ShiftUnit.WEEKS
    )
    users: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="LayerMember", related_name="schedule_layers"
    )

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "position"], name="unique_layer_position"
            ),
            models.CheckConstraint(
                condition=Q(shift_count__gte=1), name="layer_shift_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"


class LayerMember(models.Model):
    """A turn in a layer's rotation; the same user may have several."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="members")
    # PROTECT: deleting a user must not silently reshuffle a rotation.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["layer", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["layer", "position"], name="unique_layer_member_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.user}"


class Restriction(models.Model):
    """A weekly window of local time in which the layer has someone on call.

    From start weekday and time to end weekday and time; an end at or before
    the start wraps into the next week (Friday 18:00 → Monday 09:00).
    """

    layer = models.ForeignKey(
        Layer, on_delete=models.CASCADE, related_name="restrictions"
    )
    start_day = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_day = models.PositiveSmallIntegerField(choices=Weekday.choices)
    end_time = models.TimeField()

    class Meta:
        ordering = ["layer", "start_day", "start_time", "id"]

    def __str__(self) -> str:
        return (
            f"{self.get_start_day_display()} {self.start_time:%H:%M} → "
            f"{self.get_end_day_display()} {self.end_time:%H:%M}"
        )

    @property
    def window(self) -> oncall.Window:
        return oncall.Window(
            self.start_day, self.start_time, self.end_day, self.end_time
        )


class Override(models.Model):
    """Someone on call instead, for a while; above every layer."""

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="overrides"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="schedule_overrides",
        help_text="Who is on call.",
    )
    covered_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Whom they replace; empty: whoever is on call (or nobody).",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    swap_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The other half of a swap: the shift given in exchange.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="override_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["schedule", "end"])]

    def __str__(self) -> str:
        covered = f" for {self.covered_user}" if self.covered_user_id else ""
        span = f"{self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC"
        return f"{self.user}{covered}, {span}"


class CalendarFeed(models.Model):
    """The secret of a user's own iCal feed of their shifts."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
