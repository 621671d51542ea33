"""Where alerts come from and what they are: integrations, the inbox of
received events, alerts, change events and maintenance windows."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.models.core import Incident
from incidents.models.fields import PayloadField
from incidents.models.setup import Service


class Integration(models.Model):
    """A source of alerts for a service, authenticated by its secret key."""

    class Kind(models.TextChoices):
        PAGERDUTY = "pagerduty", "PagerDuty Events v2"
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GENERIC = "generic", "Generic JSON webhook"
        HEARTBEAT = "heartbeat", "Heartbeat"
        EMAIL = "email", "Email"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="integrations"
    )
    enabled = models.BooleanField(default=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_prefix = models.CharField(max_length=8, editable=False)
    # After a rotation the old key keeps working until this moment.
    previous_key_hash = models.CharField(
        max_length=64, null=True, blank=True, unique=True, editable=False
    )
    previous_key_expires_at = models.DateTimeField(null=True, blank=True)
    auto_resolve = models.BooleanField(
        default=True,
        help_text="Resolve the incident when all of its alerts have resolved.",
    )
    default_severity = models.CharField(max_length=2, default="P2")
    severity_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Sender severity → Vigil severity, e.g. {"critical": "P1"}.',
    )
    field_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text="Generic webhooks: dotted paths of title, severity, dedup_key, "
        "action in the JSON body.",
    )
    heartbeat_interval = models.DurationField(null=True, blank=True)
    heartbeat_cron = models.CharField(max_length=100, blank=True)
    heartbeat_timezone = models.CharField(max_length=64, default="UTC")
    heartbeat_grace = models.DurationField(null=True, blank=True)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    # Set when a missed ping was reported, cleared by the next ping: the
    # claim that keeps one missed-heartbeat alert per outage.
    heartbeat_missed_at = models.DateTimeField(null=True, blank=True)
    is_drill = models.BooleanField(
        default=False,
        editable=False,
        help_text="Drills fire their alerts through it: every incident it "
        "opens is a drill from its declaration.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class AlertEvent(models.Model):
    """One event as received, kept verbatim: the inbox of the paging path.

    The request path writes only this row; a worker turns it into alerts and
    incidents and stamps `processed_at`. An event the worker fails to apply
    `VIGIL_INGEST_MAX_ATTEMPTS` times is quarantined: stamped too, with
    `failed_at` and its `error`, so that the events behind it go on; it
    stays until someone re-drives it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed (quarantined)"

    class Source(models.TextChoices):
        PAGERDUTY = "pagerduty", "PagerDuty Events v2"
        ALERTMANAGER = "alertmanager", "Alertmanager"
        GENERIC = "generic", "Generic webhook"
        HEARTBEAT = "heartbeat", "Heartbeat"
        USER_REPORT = "user_report", "User report"

    integration = models.ForeignKey(
        Integration,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    action = models.CharField(max_length=16)
    dedup_key = models.CharField(max_length=255, blank=True)
    payload = PayloadField()
    received_at = models.DateTimeField(default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_events",
    )
    outcome = models.CharField(max_length=200, blank=True)
    # Failed attempts to apply it, the last one's error, and when it was
    # quarantined (also its `processed_at`).
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["integration", "id"],
                name="alertevent_pending_idx",
                condition=models.Q(processed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.action} {self.dedup_key}"

    @property
    def status(self) -> str:
        if self.failed_at is not None:
            return self.Status.FAILED
        if self.processed_at is not None:
            return self.Status.PROCESSED
        return self.Status.PENDING

    @classmethod
    def with_status(cls, status: str) -> models.Q:
        """Return the condition that selects events in `status`."""
        return {
            cls.Status.PENDING: models.Q(processed_at__isnull=True),
            cls.Status.PROCESSED: models.Q(
                processed_at__isnull=False, failed_at__isnull=True
            ),
            cls.Status.FAILED: models.Q(failed_at__isnull=False),
        }[cls.Status(status)]


class MaintenanceWindow(models.Model):
    """While it lasts, alerts of its service are recorded but page no one."""

    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When its suppressed alerts were listed."
    )
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="maintenance_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.service}: {self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%H:%M}"
        )


class Alert(models.Model):
    """A problem a sender reported, deduplicated by its key while open."""

    class Status(models.TextChoices):
        TRIGGERED = "triggered", "Triggered"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    integration = models.ForeignKey(
        Integration,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alerts",
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="alerts"
    )
    source = models.CharField(max_length=16, choices=AlertEvent.Source.choices)
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    maintenance_window = models.ForeignKey(
        MaintenanceWindow,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suppressed_alerts",
    )
    dedup_key = models.CharField(max_length=255)
    group_key = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the sender's group."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRIGGERED
    )
    summary = models.CharField(max_length=1024)
    severity = models.CharField(max_length=2)
    sender_severity = models.CharField(max_length=32, blank=True)
    details = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    event_count = models.PositiveIntegerField(default=1)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen_at", "-id"]
        constraints = [
            # The heart of deduplication: one open alert per key and source.
            models.UniqueConstraint(
                fields=["integration", "dedup_key"],
                condition=~models.Q(status="resolved"),
                name="one_open_alert_per_dedup_key",
            )
        ]
        indexes = [models.Index(fields=["integration", "group_key", "status"])]

    def __str__(self) -> str:
        return f"{self.dedup_key}: {self.summary[:60]}"


class ChangeEvent(models.Model):
    """A change (deploy, config push) a sender reported for a service."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="changes"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="changes"
    )
    summary = models.CharField(max_length=1024)
    source = models.CharField(max_length=255, blank=True)
    timestamp = models.DateTimeField()
    payload = PayloadField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp", "-id"]

    def __str__(self) -> str:
        return f"{self.service}: {self.summary[:60]}"
