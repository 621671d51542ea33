"""What ingest quotas and flood protection count, per integration.

The request path counts new alerts (distinct dedup keys) per integration and
minute, so that a sender opening alerts too fast is answered 429; the worker
counts incidents declared per integration and minute, so that past a limit
the rest are folded into one "alert flood" incident.
"""

from __future__ import annotations

from django.db import models

from incidents.models.alerts import Integration
from incidents.models.core import Incident

# The constraint whose violation is a new alert past the quota.
WITHIN_QUOTA = "quota_window_within_allowed"


class IngestQuotaWindow(models.Model):
    """How many new alerts an integration opened in one minute.

    The database refuses a count past `allowed`, the quota in force at the
    last count: that refusal is the 429, and it undoes the key's admission
    with it.
    """

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="+"
    )
    window_start = models.DateTimeField()
    new_alerts = models.PositiveIntegerField(default=0)
    allowed = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "window_start"],
                name="one_quota_window_per_minute",
            ),
            models.CheckConstraint(
                condition=models.Q(new_alerts__lte=models.F("allowed")),
                name=WITHIN_QUOTA,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.integration_id} {self.window_start:%H:%M}: {self.new_alerts}"


class IngestQuotaKey(models.Model):
    """A dedup key an integration sent a trigger for in one minute.

    Present: later triggers of the key in that minute are neither new nor
    counted, and need no more than the INSERT that stores them.
    """

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="+"
    )
    window_start = models.DateTimeField()
    dedup_key = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "window_start", "dedup_key"],
                name="one_quota_key_per_minute",
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration_id} {self.window_start:%H:%M}: {self.dedup_key}"


class AlertFlood(models.Model):
    """An integration's incidents declared this minute, and its flood incident.

    Written only by the worker, under the integration's lock.
    """

    integration = models.OneToOneField(
        Integration, on_delete=models.CASCADE, related_name="flood"
    )
    window_start = models.DateTimeField()
    declared = models.PositiveIntegerField(default=0)
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The open alert flood incident further alerts are folded into.",
    )

    def __str__(self) -> str:
        return f"{self.integration_id} {self.window_start:%H:%M}: {self.declared}"
