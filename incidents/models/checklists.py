"""What must be checked before an incident is resolved, and the response
checklist items a responder ticks by hand."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.core import Incident
from incidents.models.setup import SeverityLevel


class VerificationItem(models.Model):
    """One line of a severity's verification checklist, as an admin edits it.

    An incident copies its severity's items the first time they are needed;
    later edits here change the lists of incidents that have not copied yet.
    """

    severity = models.ForeignKey(
        SeverityLevel, on_delete=models.CASCADE, related_name="verification_items"
    )
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["severity__rank", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["severity", "label"], name="unique_verification_label"
            )
        ]

    def __str__(self) -> str:
        return f"{self.severity_id}: {self.label}"


class IncidentVerificationItem(models.Model):
    """An incident's copy of a verification item, and who ticked it when."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="verification_items"
    )
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["incident", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "label"], name="unique_incident_verification"
            )
        ]

    def __str__(self) -> str:
        mark = "x" if self.checked_at else " "
        return f"[{mark}] {self.label}"


class ChecklistTick(models.Model):
    """A response checklist item ticked by hand on an incident.

    Items the timeline proves are computed, never stored; only what a
    responder vouches for is.
    """

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="checklist_ticks"
    )
    item = models.CharField(max_length=32)
    ticked_at = models.DateTimeField()
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["incident", "ticked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "item"], name="one_tick_per_checklist_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.item}"
