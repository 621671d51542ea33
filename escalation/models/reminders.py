"""Reminders of an overdue status update: each claimed once per due slot."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from incidents.models import Incident


class UpdateReminder(models.Model):
    """One reminder (or page) for one due slot of an incident's updates.

    The unique constraint on (incident, due slot, stage) is the claim: a
    sweep inserts the row before it reminds anyone, and a racing or repeated
    sweep that finds the row there already does nothing.
    """

    class Stage(models.TextChoices):
        REMIND = "remind", "Reminder"
        PAGE = "page", "Page (still overdue after the grace)"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="update_reminders"
    )
    due_at = models.DateTimeField(help_text="The due slot the update missed.")
    stage = models.CharField(max_length=8, choices=Stage.choices)
    users = models.JSONField(default=list, help_text="Usernames reminded or paged.")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "due_at", "stage"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "due_at", "stage"],
                name="one_update_reminder_per_slot_and_stage",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.get_stage_display()} for {self.due_at}"
