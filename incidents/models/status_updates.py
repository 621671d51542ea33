"""Status updates: what responders tell stakeholders, on the severity's cadence."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.models.core import Incident


class StatusUpdate(models.Model):
    """One posted update; the incident's next one is due at `next_update_due_at`."""

    class Audience(models.TextChoices):
        INTERNAL = "internal", "Internal (responders and internal stakeholders)"
        PUBLIC = "public", "Public (status page and public subscribers)"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="status_updates"
    )
    status = models.CharField(
        max_length=16,
        choices=Incident.Status.choices,
        help_text="The incident's status when the update was posted.",
    )
    text = models.TextField(help_text="What we learned or did since the last update.")
    impact = models.TextField(blank=True)
    next_steps = models.TextField(blank=True)
    eta = models.DateTimeField(
        null=True, blank=True, help_text="When resolution is expected, if known."
    )
    audience = models.CharField(
        max_length=8, choices=Audience.choices, default=Audience.INTERNAL
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    posted_at = models.DateTimeField(default=timezone.now)
    next_update_due_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The time promised in the message; empty when no update is due.",
    )

    class Meta:
        ordering = ["incident", "posted_at", "id"]
        indexes = [models.Index(fields=["incident", "-posted_at"])]

    def __str__(self) -> str:
        return f"{self.incident.public_id} update at {self.posted_at:%Y-%m-%d %H:%M}"
