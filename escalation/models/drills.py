"""Drills: scenarios, per-team schedules, and each drill run.

A drill is a real incident, flagged `is_drill`: its scenario's alerts go
through Vigil's own ingest, so routing, grouping, escalation and pages are
exercised for real, every message saying [DRILL]. The `Drill` row is the
claim of a scheduled slot: unique per (schedule, slot), so whatever fires
a slot (beat, a restarted beat, a redelivered message) starts it once.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.timezones import validate_time_zone
from incidents.models import AlertEvent, Incident, Service, SeverityLevel, Team


class DrillMode(models.TextChoices):
    NORMAL = "normal", "Normal: an acknowledgement stops the escalation"
    WALK_CHAIN = "walk_chain", "Escalate, don't acknowledge: page every level"


class DrillScenario(models.Model):
    """What a drill fires and what a team is expected to do about it."""

    class Format(models.TextChoices):
        PAGERDUTY = "pagerduty", "PagerDuty Events v2"
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"

    class Expectation(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledge within the severity's target"
        COMMANDER = "commander", "Incident commander assigned"
        UPDATES = "updates", "Status updates posted on cadence"
        CHECKLIST = "checklist", "Runbook checklist done"
        RESOLVE = "resolve", "Resolved"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(
        blank=True, help_text="What happens, told to nobody before the drill."
    )
    severity = models.ForeignKey(
        SeverityLevel,
        on_delete=models.PROTECT,
        help_text="The incident's severity: it wins over the alert's own.",
    )
    category = models.CharField(
        max_length=32,
        choices=Incident.Category.choices,
        default=Incident.Category.OTHER,
    )
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="The service it alerts on; blank: the team's first service.",
    )
    alert_format = models.CharField(max_length=16, choices=Format.choices)
    alert = models.JSONField(
        help_text="The body sent, as the monitoring system sends it: one "
        "PagerDuty Events v2 trigger, or one Alertmanager webhook (one or "
        "more alerts)."
    )
    expected = models.JSONField(
        default=list,
        blank=True,
        help_text="The responses scored: acknowledge, commander, updates, "
        "checklist, resolve.",
    )
    time_box = models.DurationField(
        default=timedelta(hours=1),
        help_text="Past this, the drill's incident is cancelled: not completed.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DrillSchedule(models.Model):
    """When a team's drills run: quarterly or monthly, in its time zone.

    Kept as a django-celery-beat periodic task (a crontab in `time_zone`)
    by the drill schedule services, which create, change and delete it
    with the schedule.
    """

    class Frequency(models.TextChoices):
        QUARTERLY = "quarterly", "Quarterly (January, April, July, October)"
        MONTHLY = "monthly", "Monthly"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    scenario = models.ForeignKey(
        DrillScenario,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Blank: each slot takes the next scenario of the library.",
    )
    frequency = models.CharField(
        max_length=16, choices=Frequency.choices, default=Frequency.QUARTERLY
    )
    day = models.PositiveSmallIntegerField(
        default=15, help_text="Day of the month, 1 to 28."
    )
    hour = models.PositiveSmallIntegerField(default=10)
    minute = models.PositiveSmallIntegerField(default=0)
    time_zone = models.CharField(
        max_length=64, validators=[validate_time_zone], help_text="IANA name."
    )
    window = models.DurationField(
        default=timedelta(0),
        help_text="A drill starts at a random moment this long after the "
        "slot (the same moment for every copy of the slot's message).",
    )
    mode = models.CharField(
        max_length=16, choices=DrillMode.choices, default=DrillMode.NORMAL
    )
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        PeriodicTask, null=True, blank=True, editable=False, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="drill_schedule_name_per_team"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.name}"


class Drill(models.Model):
    """One drill: its scenario fired for a team, and how it went."""

    Mode = DrillMode

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        POSTPONED = "postponed", "Postponed"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        TIMED_OUT = "timed_out", "Timed out (not completed)"
        CANCELLED = "cancelled", "Cancelled"

    scenario = models.ForeignKey(
        DrillScenario, on_delete=models.PROTECT, related_name="drills"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(
        DrillSchedule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drills",
    )
    slot = models.DateTimeField(
        null=True, blank=True, help_text="The schedule's slot this drill is."
    )
    mode = models.CharField(
        max_length=16, choices=DrillMode.choices, default=DrillMode.NORMAL
    )
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.SCHEDULED
    )
    reason = models.TextField(
        blank=True, help_text="Why it is postponed, or how it ended."
    )
    due_at = models.DateTimeField(
        help_text="When it starts (or, postponed, is tried again)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text="Its time box runs out then."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    alert_event = models.ForeignKey(
        AlertEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The alert it fired through ingest.",
    )
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="drills",
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "slot"], name="one_drill_per_schedule_slot"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(state__in=("scheduled", "postponed")),
                name="drill_waiting_idx",
            ),
            models.Index(
                fields=["ends_at"],
                condition=models.Q(state="running"),
                name="drill_running_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Drill {self.pk}: {self.scenario} for {self.team}"
