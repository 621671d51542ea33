"""Incidents, their day sequence, roles and timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from incidents.exceptions import TimelineAppendOnlyError
from incidents.models.setup import Service, SeverityLevel


class IncidentDaySequence(models.Model):
    """Last number handed out for a declaration date (INC-YYYY-MM-DD-NNN)."""

    day = models.DateField(primary_key=True)
    last = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.last}"


class Incident(models.Model):
    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MITIGATING = "mitigating", "Mitigating"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    # The states an incident is no longer open in.
    DONE = (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)

    class Category(models.TextChoices):
        SITE_DOWN = "site_down", "Site down"
        DATABASE = "database", "Database"
        API_INTEGRATION = "api_integration", "API integration"
        CONFIGURATION = "configuration", "Configuration"
        SECURITY = "security", "Security"
        PERFORMANCE = "performance", "Performance"
        FAILED_DEPLOYMENT = "failed_deployment", "Failed deployment"
        BOT_OFFLINE = "bot_offline", "Bot offline"
        OTHER = "other", "Other"

    class DetectionSource(models.TextChoices):
        MONITORING_ALERT = "monitoring_alert", "Monitoring alert"
        USER_REPORT = "user_report", "User report"
        LOG_ANOMALY = "log_anomaly", "Log anomaly"
        HEALTH_CHECK = "health_check", "Health check"
        COMMUNITY_REPORT = "community_report", "Community report"
        THIRD_PARTY = "third_party", "Third party"
        TEAM_MEMBER = "team_member", "Team member"

    class ResolutionType(models.TextChoices):
        ROLLBACK = "rollback", "Rollback"
        FIX_FORWARD = "fix_forward", "Fix forward"
        FAILOVER = "failover", "Failover"
        WORKAROUND = "workaround", "Workaround"

    public_id = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.PROTECT, related_name="incidents"
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRIGGERED
    )
    category = models.CharField(
        max_length=24, choices=Category.choices, default=Category.OTHER
    )
    detection_source = models.CharField(
        max_length=24,
        choices=DetectionSource.choices,
        default=DetectionSource.TEAM_MEMBER,
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, related_name="incidents"
    )
    affected_services = models.ManyToManyField(
        Service, blank=True, related_name="affected_by_incidents"
    )
    users_affected = models.PositiveIntegerField(null=True, blank=True)
    impact = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    resolution_type = models.CharField(
        max_length=16, choices=ResolutionType.choices, blank=True
    )
    is_drill = models.BooleanField(default=False)
    restricted = models.BooleanField(
        default=False,
        help_text="Only the named responders, the team's leads and managers and "
        "superusers see the details; the rest of the team sees that it exists.",
    )
    named_responders: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="restricted_incidents",
        help_text="Who sees a restricted incident's details.",
    )
    # The public status page shows an incident only when it is marked public,
    # under its public title, and never a drill (notifications.statuspage.selectors).
    is_public = models.BooleanField(
        default=False,
        help_text="Shown on the public status page (a drill never is), with "
        "its public status updates only.",
    )
    public_title = models.CharField(
        max_length=200, blank=True, help_text="What the public reads (empty: title)."
    )

    started_at = models.DateTimeField(help_text="When impact began.")
    detected_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # The communication clock. `next_update_due_at` is the "Next update" the
    # last message promised; `update_check_at` is when the reminder sweep
    # looks at the incident next (empty: the clock is stopped, because the
    # severity has no cadence or the incident is resolved, closed or
    # cancelled). Status updates and the sweep keep both.
    next_update_due_at = models.DateTimeField(null=True, blank=True)
    update_reminders_snoozed_until = models.DateTimeField(null=True, blank=True)
    update_check_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [
            # The cadence sweep reads only incidents whose clock runs.
            models.Index(
                fields=["update_check_at"],
                name="incident_update_check_idx",
                condition=models.Q(update_check_at__isnull=False),
            ),
            models.Index(fields=["status", "severity"]),
            models.Index(
                fields=["detected_at"],
                name="incident_unacked_idx",
                condition=models.Q(status="triggered"),
            ),
            # The metrics' periods (since/until on the detection time) and the
            # days their rollups do not hold yet.
            models.Index(fields=["detected_at"], name="incident_detected_idx"),
            # Restricted incidents, which the metrics always read raw.
            models.Index(
                fields=["detected_at"],
                name="incident_restricted_idx",
                condition=models.Q(restricted=True),
            ),
            # The open incidents, counted at every Prometheus scrape from
            # the index alone (the condition is `DONE`).
            models.Index(
                fields=["severity", "service", "is_drill"],
                name="incident_open_idx",
                condition=~models.Q(status__in=["resolved", "closed", "cancelled"]),
            ),
            # Availability: the incidents resolved within its window, and
            # those still open, among all incidents, each from its index
            # alone.
            models.Index(
                fields=["resolved_at"],
                name="incident_resolved_cover_idx",
                condition=models.Q(resolved_at__isnull=False),
                include=["service", "started_at", "is_drill", "status"],
            ),
            models.Index(
                fields=["service", "started_at"],
                name="incident_unresolved_idx",
                condition=models.Q(resolved_at__isnull=True),
                include=["is_drill", "status"],
            ),
            # Response times summarised by the database: a team's or a
            # service's incidents of some severities, from the index alone.
            models.Index(
                fields=["is_drill", "service", "severity", "detected_at"],
                name="incident_summary_cover_idx",
                condition=~models.Q(status="cancelled"),
                include=[
                    "id",
                    "category",
                    "restricted",
                    "started_at",
                    "acknowledged_at",
                    "mitigated_at",
                    "resolved_at",
                ],
            ),
            # Repeat incidents: an incident's predecessors of the same
            # service, category and drill flag (the metrics' repeat count),
            # the latest one found in the index alone.
            models.Index(
                fields=["service", "category", "is_drill", "detected_at"],
                name="incident_repeat_idx",
                condition=models.Q(restricted=False) & ~models.Q(status="cancelled"),
                include=["id"],
            ),
            # The status page's 90 days of history, among all incidents.
            models.Index(
                fields=["started_at"],
                name="incident_public_idx",
                condition=models.Q(is_public=True, is_drill=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.title}"

    @property
    def war_room_channel(self) -> str:
        """Return the SOP's channel name, `#incident-YYYYMMDD-<slug>`."""
        day = timezone.localtime(self.detected_at).strftime("%Y%m%d")
        slug = slugify(self.title)[:40].strip("-") or "incident"
        return f"#incident-{day}-{slug}"

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.detected_at

    @property
    def time_to_resolve(self) -> timedelta | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at - self.detected_at


class IncidentRole(models.TextChoices):
    INCIDENT_COMMANDER = "incident_commander", "Incident Commander"
    TECHNICAL_LEAD = "technical_lead", "Technical Lead"
    COMMUNICATIONS_LEAD = "communications_lead", "Communications Lead"
    SUPPORT_LEAD = "support_lead", "Support Lead"
    SCRIBE = "scribe", "Scribe"


class RoleAssignment(models.Model):
    """Who holds a role on an incident now; hand-overs are on the timeline."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=24, choices=IncidentRole.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["incident", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"], name="one_holder_per_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user}"


class TimelineEvent(models.Model):
    """One append-only entry of an incident's timeline."""

    class NoteKind(models.TextChoices):
        NOTE = "note", "Note"
        HYPOTHESIS = "hypothesis", "Root cause hypothesis"
        ACTION = "action", "Action taken"
        DECISION = "decision", "Key decision"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="timeline"
    )
    # One of the kinds registered in incidents/timeline.py by each app's
    # timeline_kinds.py: no database choices, so a new kind needs no migration.
    kind = models.CharField(max_length=32)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(max_length=32, default="system")
    message = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            # A missed target is recorded once, however often the sweep runs.
            models.UniqueConstraint(
                fields=["incident", "kind"],
                condition=models.Q(
                    kind__in=["ack_target_missed", "resolve_target_missed"]
                ),
                name="one_missed_target_event",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.at:%Y-%m-%d %H:%M} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TimelineAppendOnlyError("timeline events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TimelineAppendOnlyError("timeline events cannot be deleted")
