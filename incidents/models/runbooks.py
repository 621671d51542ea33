"""Runbooks, the checklists they become on an incident, and external contacts.

A runbook is data: ordered steps and the conditions under which it attaches
to an incident. Attaching copies the steps, so a runbook edited later never
changes the checklist of an incident already running.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.models.core import Incident
from incidents.models.setup import Service, SeverityLevel, Team


class ExternalContact(models.Model):
    """Someone outside the team to call: hosting provider, vendor support."""

    class Kind(models.TextChoices):
        HOSTING_PROVIDER = "hosting_provider", "Hosting provider"
        VENDOR = "vendor", "Vendor support"
        EMERGENCY = "emergency", "Emergency contact"
        AUTHORITY = "authority", "Authority or regulator"
        OTHER = "other", "Other"

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="external_contacts"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.VENDOR)
    emergency_line = models.CharField(
        max_length=100, blank=True, help_text="Phone number for urgent (P0) cases."
    )
    account_reference = models.CharField(
        max_length=200, blank=True, help_text="Account or contract to quote."
    )
    support_url = models.URLField(blank=True)
    hours = models.CharField(
        max_length=100, blank=True, help_text="When they answer, e.g. 24/7."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="unique_external_contact_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Phase(models.TextChoices):
    """Where a step stands in the response; the security runbook's five first."""

    CONTAIN = "contain", "Contain"
    ASSESS = "assess", "Assess"
    PRESERVE_EVIDENCE = "preserve_evidence", "Preserve evidence"
    ERADICATE = "eradicate", "Eradicate"
    RECOVER = "recover", "Recover"
    INVESTIGATE = "investigate", "Investigate"
    FIX = "fix", "Fix"
    VERIFY = "verify", "Verify"


class Runbook(models.Model):
    """Ordered steps for one kind of incident, and when they attach."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="runbooks",
        help_text="Only this team's incidents; empty: every team's.",
    )
    category = models.CharField(
        max_length=24,
        choices=Incident.Category.choices,
        blank=True,
        help_text="Only incidents of this category; empty: any category.",
    )
    severity_at_least = models.ForeignKey(
        SeverityLevel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only incidents this severe or more (P1: P0 and P1); "
        "empty: no lower bound.",
    )
    severity_at_most = models.ForeignKey(
        SeverityLevel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only incidents this severe or less (P2: P2 and P3); "
        "empty: no upper bound.",
    )
    service = models.ForeignKey(
        Service,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="runbooks",
        help_text="Only this service's incidents; empty: any service.",
    )
    enabled = models.BooleanField(
        default=True, help_text="A disabled runbook attaches to no new incident."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"], name="unique_runbook_name_per_team"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(team__isnull=True),
                name="unique_shared_runbook_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RunbookStep(models.Model):
    """One step of a runbook; commands and links are shown, never run."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    commands = models.TextField(
        blank=True, help_text="Shown verbatim to the responder; never executed."
    )
    link = models.URLField(blank=True, max_length=500)
    phase = models.CharField(max_length=24, choices=Phase.choices, blank=True)
    required = models.BooleanField(default=True)
    external_contact = models.ForeignKey(
        ExternalContact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who to call for this step (a contact of the runbook's team).",
    )

    class Meta:
        ordering = ["runbook", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["runbook", "position"], name="unique_runbook_step_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text[:60]}"


class IncidentRunbook(models.Model):
    """A runbook attached to an incident: a copy of it, taken when attached."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="runbooks"
    )
    runbook = models.ForeignKey(
        Runbook,
        null=True,
        on_delete=models.SET_NULL,
        related_name="attachments",
        help_text="Where the copy came from; empty once that runbook is deleted.",
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    attached_at = models.DateTimeField(default=timezone.now)
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["incident", "attached_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "runbook"], name="runbook_attached_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.incident_id}"


class IncidentRunbookStep(models.Model):
    """One step of an attached runbook, and how far the responders got."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="runbook_steps"
    )
    incident_runbook = models.ForeignKey(
        IncidentRunbook, on_delete=models.CASCADE, related_name="steps"
    )
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    commands = models.TextField(blank=True)
    link = models.URLField(blank=True, max_length=500)
    phase = models.CharField(max_length=24, choices=Phase.choices, blank=True)
    required = models.BooleanField(default=True)
    external_contact = models.ForeignKey(
        ExternalContact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    skip_reason = models.TextField(blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["incident_runbook", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident_runbook", "position"],
                name="unique_incident_runbook_step_position",
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.text[:60]}"
