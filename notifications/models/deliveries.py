"""Message templates, the delivery log, action links and wrong SMS replies."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from notifications.models.contacts import Channel, ContactMethod, Kind, mask_address


class MessageTemplate(models.Model):
    """An admin's version of one built-in template (kind and format)."""

    class MessageKind(models.TextChoices):
        PAGE = "page", "Page to a responder"
        INITIAL = "initial", "Initial notification"
        UPDATE = "update", "Status update"
        RESOLUTION = "resolution", "Resolution"
        REMINDER = "reminder", "Status update reminder"
        VERIFICATION = "verification", "Contact verification"
        TEST = "test", "Test message"
        NOTICE = "notice", "Reminder or digest to a person"
        CONTACT_TEST = "contact_test", "Contact-method test (confirm link)"

    class Format(models.TextChoices):
        SUBJECT = "subject", "Email subject"
        TEXT = "text", "Email / webhook body"
        CHAT = "chat", "Chat (Markdown)"
        SHORT = "short", "SMS / voice"

    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    format = models.CharField(max_length=8, choices=Format.choices)
    source = models.TextField(help_text="Jinja template, rendered in a sandbox.")
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last render that failed and fell back to the built-in template.
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "format"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "format"], name="one_template")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_format_display()}"


class Delivery(models.Model):
    """One message to one destination: written before it is sent."""

    class Purpose(models.TextChoices):
        PAGE = "page", "Page"
        BROADCAST = "broadcast", "Channel broadcast"
        VERIFICATION = "verification", "Verification"
        TEST = "test", "Test message"
        FOLLOW_UP = "follow_up", "Post-incident follow-up"
        CONTACT_TEST = "contact_test", "Contact-method test"
        # Rendered for the public when written (`extra["message"]`): no
        # responder, internal link or template of the responders' messages.
        PUBLIC = "public", "Public subscriber message"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        BUNDLED = "bundled", "Bundled into another"

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    message_kind = models.CharField(
        max_length=16, choices=MessageTemplate.MessageKind.choices
    )
    # What the message is about: one delivery per (event, destination), ever.
    event_key = models.CharField(max_length=120)
    incident = models.ForeignKey(
        "incidents.Incident",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    contact_method = models.ForeignKey(
        ContactMethod,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    subscriber = models.ForeignKey(
        "PublicSubscriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    destination = models.CharField(max_length=2000)
    # Pages of an escalation stop when someone acknowledges; a page to an
    # added responder does not.
    stops_on_ack = models.BooleanField(default=False)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Context the message needs (an update)."
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING
    )
    due_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    bundled_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bundled",
    )
    provider_status = models.PositiveSmallIntegerField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    provider_response = models.TextField(blank=True)
    error = models.TextField(blank=True)
    notes = models.TextField(
        blank=True, help_text="Template fallbacks, recoveries, postponements."
    )
    # Sent or failed, and the apps above not yet told (`deliveries_finished`):
    # a batch tells them when it ends, and the recovery sweep tells them of
    # what a worker that died first left behind.
    report_due = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event_key", "contact_method"],
                condition=Q(contact_method__isnull=False),
                name="one_delivery_per_event_and_contact",
            ),
            models.UniqueConstraint(
                fields=["event_key", "channel"],
                condition=Q(channel__isnull=False),
                name="one_delivery_per_event_and_channel",
            ),
            models.UniqueConstraint(
                fields=["event_key", "subscriber"],
                condition=Q(subscriber__isnull=False),
                name="one_delivery_per_event_and_subscriber",
            ),
        ]
        indexes = [
            # The due sweep and the recovery sweep read only these rows.
            models.Index(
                fields=["due_at"],
                name="delivery_pending_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_at"],
                name="delivery_sending_idx",
                condition=Q(status="sending"),
            ),
            models.Index(
                fields=["finished_at"],
                name="delivery_report_due_idx",
                condition=Q(report_due=True),
            ),
            models.Index(fields=["contact_method", "claimed_at"]),
            models.Index(fields=["incident", "status"]),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} to {self.display_destination} ({self.status})"
        )

    @property
    def display_destination(self) -> str:
        return mask_address(self.kind, self.destination)


class ActionLink(models.Model):
    """A signed, expiring, single-use acknowledge or resolve link in a message."""

    class Action(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", "Acknowledge"
        RESOLVE = "resolve", "Resolve"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="action_links"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    action = models.CharField(max_length=16, choices=Action.choices)
    nonce = models.CharField(max_length=64)
    # The reply code of an SMS page ("ACK 4821"), the same for both actions.
    code = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_via = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "user", "action"],
                condition=Q(used_at__isnull=True),
                name="one_live_link_per_action",
            )
        ]
        indexes = [models.Index(fields=["user", "code"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.incident_id} for {self.user}"


class ReplyFailure(models.Model):
    """An SMS reply that named no waiting page: a wrong code, counted."""

    phone = models.CharField(max_length=32)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["phone", "at"])]

    def __str__(self) -> str:
        return f"wrong code from {self.phone} at {self.at:%Y-%m-%d %H:%M}"
