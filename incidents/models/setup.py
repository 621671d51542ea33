"""Teams and their members, services and the severity matrix with its revisions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from config.timezones import validate_time_zone


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="IANA name, like Europe/Berlin: the team's days, weeks, "
        "months and quarters in metrics.",
    )
    members: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="TeamMembership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Team lead"
        MANAGER = "manager", "Manager"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="unique_team_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"


class Service(models.Model):
    class PublicStatus(models.TextChoices):
        """A component's state in the words (and values) of public status pages."""

        OPERATIONAL = "operational", "Operational"
        DEGRADED_PERFORMANCE = "degraded_performance", "Degraded performance"
        PARTIAL_OUTAGE = "partial_outage", "Partial outage"
        MAJOR_OUTAGE = "major_outage", "Major outage"
        UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    description = models.TextField(blank=True)
    escalation_policy = models.ForeignKey(
        "escalation.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
        help_text="Who is paged when this service has an incident.",
    )
    is_public = models.BooleanField(
        default=False, help_text="Listed on the public status page."
    )
    public_name = models.CharField(
        max_length=100, blank=True, help_text="Its name there (empty: the name)."
    )
    public_status_override = models.CharField(
        max_length=24,
        choices=PublicStatus.choices,
        blank=True,
        help_text="Shown there instead of the state its incidents and "
        "maintenance give it (empty: derived).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def validate_positive_duration(value: timedelta) -> None:
    """A target or a cadence of zero or less would be breached at once, or
    ask for an update every instant: refuse it."""
    if value <= timedelta(0):
        raise ValidationError("Must be longer than zero.", code="not_positive")


class SeverityLevel(models.Model):
    """One row of the severity matrix (P0-P3). Edits are versioned."""

    code = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=32)
    rank = models.PositiveSmallIntegerField(
        unique=True, help_text="0 is the most severe."
    )
    ack_target = models.DurationField(
        help_text="Respond (acknowledge) within.",
        validators=[validate_positive_duration],
    )
    resolve_target = models.DurationField(
        null=True, blank=True, validators=[validate_positive_duration]
    )
    update_cadence = models.DurationField(
        null=True,
        blank=True,
        help_text="How often a status update is due.",
        validators=[validate_positive_duration],
    )
    paged_at_declaration = models.CharField(max_length=200, blank=True)
    pir_required = models.BooleanField(default=False)
    pir_on_repeat = models.BooleanField(
        default=False, help_text="PIR only when the same root cause repeats."
    )
    verification_required = models.BooleanField(
        default=False,
        help_text="Resolving needs every verification item ticked (or an "
        "override with a reason by the incident commander or a team lead).",
    )
    color = models.CharField(max_length=7, default="#6b7280")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SeverityLevelRevision(models.Model):
    """The matrix row as it was before an edit."""

    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, related_name="revisions"
    )
    version = models.PositiveIntegerField()
    values = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["severity", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["severity", "version"], name="unique_severity_revision"
            )
        ]

    def __str__(self) -> str:
        return f"{self.severity_id} v{self.version}"
