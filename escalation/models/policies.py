"""Escalation policies and the escalation state of each incident."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from incidents.models import Incident, SeverityLevel, Team, TeamMembership

# How long an acknowledgement may be set to hold, when it expires at all.
ACK_TIMEOUT_RANGE = (timedelta(minutes=1), timedelta(days=7))


class EscalationPolicy(models.Model):
    """Who is paged, in which order, while nobody acknowledges."""

    name = models.CharField(max_length=100)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="escalation_policies"
    )
    description = models.TextField(blank=True)
    repeat = models.PositiveSmallIntegerField(
        default=0,
        help_text="How many more times to go through the levels after the last.",
    )
    ack_timeout = models.DurationField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(ACK_TIMEOUT_RANGE[0], "At least 1 minute."),
            MaxValueValidator(ACK_TIMEOUT_RANGE[1], "At most 7 days."),
        ],
        help_text="An incident still only acknowledged this long after its "
        "acknowledgement is triggered again, and its escalation restarts "
        "(1 minute to 7 days). Empty: acknowledgements do not expire.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="unique_policy_name")
        ]

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    """One level of a policy: its targets, and how long it has to respond."""

    policy = models.ForeignKey(
        EscalationPolicy, on_delete=models.CASCADE, related_name="levels"
    )
    position = models.PositiveSmallIntegerField(help_text="1 is paged first.")
    name = models.CharField(max_length=100, blank=True)
    delay = models.DurationField(
        null=True,
        blank=True,
        help_text="Wait before the next level; empty: the severity's ack target.",
    )
    up_to_severity = models.ForeignKey(
        SeverityLevel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only for incidents this severe or worse (e.g. P0: P0 only).",
    )
    page_at_declaration_up_to = models.ForeignKey(
        SeverityLevel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Paged as soon as an incident this severe or worse is declared.",
    )

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "position"], name="unique_level_position"
            )
        ]

    def __str__(self) -> str:
        return f"L{self.position} {self.name}".strip()

    @property
    def label(self) -> str:
        return f"L{self.position} ({self.name})" if self.name else f"L{self.position}"

    def applies_to(self, severity: SeverityLevel) -> bool:
        """Return whether incidents of `severity` climb to this level."""
        return self.up_to_severity is None or severity.rank <= self.up_to_severity.rank

    def pages_at_declaration(self, severity: SeverityLevel) -> bool:
        limit = self.page_at_declaration_up_to
        return limit is not None and severity.rank <= limit.rank

    def wait_after(self, severity: SeverityLevel) -> timedelta:
        return self.delay if self.delay is not None else severity.ack_target


class EscalationTarget(models.Model):
    """Whom a level pages: a user, a team (or its leads), or a schedule."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        TEAM = "team", "Team"
        SCHEDULE = "schedule", "On-call schedule"

    level = models.ForeignKey(
        EscalationLevel, on_delete=models.CASCADE, related_name="targets"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    schedule = models.ForeignKey(
        "escalation.Schedule",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    team_role = models.CharField(
        max_length=16,
        choices=TeamMembership.Role.choices,
        blank=True,
        help_text="Page only the team's members with this role; empty: all.",
    )

    class Meta:
        ordering = ["level", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="user",
                        user__isnull=False,
                        team__isnull=True,
                        schedule__isnull=True,
                    )
                    | models.Q(
                        kind="team",
                        team__isnull=False,
                        user__isnull=True,
                        schedule__isnull=True,
                    )
                    | models.Q(
                        kind="schedule",
                        schedule__isnull=False,
                        user__isnull=True,
                        team__isnull=True,
                    )
                ),
                name="target_names_one_thing",
            )
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.USER:
            return f"user {self.user}"
        if self.kind == self.Kind.TEAM:
            role = f" ({self.get_team_role_display()}s)" if self.team_role else ""
            return f"team {self.team}{role}"
        return f"schedule {self.schedule}"

    def clean(self) -> None:
        named: dict[str, int | None] = {
            self.Kind.USER: self.user_id,
            self.Kind.TEAM: self.team_id,
            self.Kind.SCHEDULE: self.schedule_id,
        }
        if not named.get(self.kind):
            raise ValidationError(f"a {self.get_kind_display()} target names one")


class Escalation(models.Model):
    """Where an incident's escalation stands; the engine's only state.

    `due_at` is when the next step fires; the sweep and the step task both
    fire only what is due, under a row lock, so a step never depends on one
    task message.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Climbing"
        STOPPED = "stopped", "Stopped"
        EXHAUSTED = "exhausted", "Every level paged"
        NO_POLICY = "no_policy", "No policy"

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="escalation"
    )
    policy = models.ForeignKey(
        EscalationPolicy,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalations",
    )
    state = models.CharField(max_length=16, choices=State.choices)
    run = models.PositiveIntegerField(
        default=1, help_text="Counts restarts (un-acknowledge)."
    )
    repeat = models.PositiveSmallIntegerField(default=0)
    level = models.PositiveSmallIntegerField(
        default=0, help_text="The last level paged; 0 before the first."
    )
    next_level = models.PositiveSmallIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="escalation_due_idx",
                condition=models.Q(state="active"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.get_state_display()}"


class EscalationStep(models.Model):
    """A level fired (or skipped) once: the claim that makes it once.

    `key` names the step within the escalation (run, repeat, level, or a
    manual action); the unique constraint on it is the exactly-once guarantee.
    """

    class Outcome(models.TextChoices):
        PAGED = "paged", "Paged"
        EMPTY = "empty", "Nobody to page"
        NOT_FOR_SEVERITY = "not_for_severity", "Not for this severity"

    class Cause(models.TextChoices):
        DECLARATION = "declaration", "Paged at declaration"
        ESCALATION = "escalation", "Escalation"
        RENOTIFY = "renotify", "New alert"
        MANUAL = "manual", "Escalated by hand"
        REASSIGN = "reassign", "Reassigned"
        RESPONDER = "responder", "Responder added"

    escalation = models.ForeignKey(
        Escalation, on_delete=models.CASCADE, related_name="steps"
    )
    key = models.CharField(max_length=64)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    run = models.PositiveIntegerField()
    repeat = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    users = models.JSONField(default=list, help_text="Usernames paged.")
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["escalation", "fired_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "key"], name="one_step_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.escalation_id} {self.key}: {self.get_outcome_display()}"

    @property
    def lateness(self) -> timedelta:
        return self.fired_at - self.due_at
