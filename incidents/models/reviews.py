"""Post-incident reviews, their reminders, action items and recurrence.

A review (PIR) exists for an incident whose resolution required one; its
state only moves forwards. Reminders and digests are claim rows: one row per
(review, deadline, stage) or (owner, day), inserted once whatever sweeps
race, and the message is written only by the sweep whose insert succeeded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.models.core import Incident
from incidents.models.setup import Team


class PostIncidentReview(models.Model):
    class State(models.TextChoices):
        REQUIRED = "required", "Required"
        DRAFTING = "drafting", "Drafting"
        INITIAL_PUBLISHED = "initial_published", "Initial report published"
        MEETING_HELD = "meeting_held", "Review meeting held"
        PUBLISHED = "published", "Published"
        WAIVED = "waived", "Waived"

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="review"
    )
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.REQUIRED
    )
    reason = models.CharField(max_length=200, help_text="Why the rule required it.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who is reminded: the incident commander unless reassigned.",
    )
    resolved_at = models.DateTimeField()
    initial_due_at = models.DateTimeField()
    meeting_due_at = models.DateTimeField()
    initial_published_at = models.DateTimeField(null=True, blank=True)
    meeting_at = models.DateTimeField(
        null=True, blank=True, help_text="When the review meeting is scheduled."
    )
    meeting_held_at = models.DateTimeField(null=True, blank=True)
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    waived_at = models.DateTimeField(null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    waive_reason = models.TextField(blank=True)
    # The document, one Markdown text per section of the SOP's template.
    summary = models.TextField(blank=True)
    timeline = models.TextField(blank=True)
    impact = models.TextField(blank=True)
    root_cause = models.TextField(blank=True)
    went_well = models.TextField(blank=True)
    needs_improvement = models.TextField(blank=True)
    prevention = models.TextField(blank=True)
    lessons_learned = models.TextField(blank=True)
    # Hand ticks of the "After Incident" checklist: {item: {"at", "by"}}.
    checklist_ticks = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-resolved_at", "-id"]
        verbose_name = "post-incident review"

    def __str__(self) -> str:
        return f"PIR {self.incident.public_id} ({self.get_state_display()})"


class ReviewReminder(models.Model):
    """One reminder or escalation of a review deadline: its claim row."""

    class Deadline(models.TextChoices):
        INITIAL_REPORT = "initial_report", "Initial report"
        REVIEW_MEETING = "review_meeting", "Review meeting"

    class Stage(models.TextChoices):
        BEFORE = "before", "Reminder before the deadline"
        DUE = "due", "Reminder at the deadline"
        LEAD = "lead", "Overdue: escalated to the team lead"
        MANAGER = "manager", "Overdue: escalated to the team's manager"

    review = models.ForeignKey(
        PostIncidentReview, on_delete=models.CASCADE, related_name="reminders"
    )
    deadline = models.CharField(max_length=16, choices=Deadline.choices)
    stage = models.CharField(max_length=8, choices=Stage.choices)
    claimed_at = models.DateTimeField()
    recipients = models.JSONField(default=list, blank=True)
    # False when a later stage was due as well: only the latest is sent.
    sent = models.BooleanField(default=True)

    class Meta:
        ordering = ["review", "claimed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "deadline", "stage"], name="one_reminder_per_stage"
            )
        ]

    def __str__(self) -> str:
        return f"{self.review_id} {self.deadline} {self.stage}"


# The review's field holding when each deadline falls.
DEADLINE_DUE_FIELDS = {
    ReviewReminder.Deadline.INITIAL_REPORT: "initial_due_at",
    ReviewReminder.Deadline.REVIEW_MEETING: "meeting_due_at",
}
# The review states in which each deadline is still to be met: reminded of
# while it nears and passes, counted as overdue once passed.
DEADLINE_OPEN_STATES = {
    ReviewReminder.Deadline.INITIAL_REPORT: (
        PostIncidentReview.State.REQUIRED,
        PostIncidentReview.State.DRAFTING,
    ),
    ReviewReminder.Deadline.REVIEW_MEETING: (
        PostIncidentReview.State.REQUIRED,
        PostIncidentReview.State.DRAFTING,
        PostIncidentReview.State.INITIAL_PUBLISHED,
    ),
}


class ActionItem(models.Model):
    class Priority(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    due_date = models.DateField()
    priority = models.CharField(
        max_length=8, choices=Priority.choices, default=Priority.MEDIUM
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    wont_do_reason = models.TextField(blank=True)
    ticket_url = models.URLField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_date"])]

    def __str__(self) -> str:
        return self.title


class ActionItemDigest(models.Model):
    """The one overdue digest of an owner for a day: its claim row."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    items = models.JSONField(default=list)
    claimed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "owner"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "day"], name="one_digest_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.day}"


class RootCauseTag(models.Model):
    """A team's word for a root cause; incidents sharing one are repeats."""

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="root_cause_tags"
    )
    name = models.CharField(max_length=64)
    slug = models.SlugField(max_length=64)
    description = models.TextField(blank=True)
    incidents = models.ManyToManyField(
        Incident, blank=True, related_name="root_cause_tags"
    )

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="unique_tag_slug")
        ]

    def __str__(self) -> str:
        return self.name


class IncidentLink(models.Model):
    """`incident` repeats the earlier incident `repeats`."""

    class Reason(models.TextChoices):
        FINGERPRINT = "fingerprint", "Same alert fingerprint (dedup key)"
        ALERT_GROUP = "alert_group", "Same alert group"
        ROOT_CAUSE_TAG = "root_cause_tag", "Same root-cause tag"
        MANUAL = "manual", "Linked by hand"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="repeat_links"
    )
    repeats = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="repeated_by_links"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "repeats"], name="one_link_per_pair"
            ),
            models.CheckConstraint(
                condition=~models.Q(incident=models.F("repeats")),
                name="no_link_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident_id} repeats {self.repeats_id}"
