"""Contact methods, rules, channels, templates, the delivery log, action links.

Over 400 lines on purpose: every table of the app, with the kinds and
choices the transports and the admin read, is in one place; the stakeholder
subscriptions sit beside the channels they can name.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Kind(models.TextChoices):
    """Transport kinds; `notifications.transports` has one module per kind."""

    EMAIL = "email", "Email"
    SLACK = "slack", "Slack webhook"
    DISCORD = "discord", "Discord webhook"
    TEAMS = "teams", "Microsoft Teams webhook"
    WEBHOOK = "webhook", "Webhook (signed JSON)"
    SMS = "sms", "SMS (Twilio)"
    VOICE = "voice", "Voice call (Twilio)"
    APPRISE = "apprise", "Apprise URL"


# Kinds whose address is a secret-bearing URL: shown masked outside forms.
URL_KINDS = {Kind.SLACK, Kind.DISCORD, Kind.TEAMS, Kind.WEBHOOK, Kind.APPRISE}
# Broadcast channels post to rooms and lists, never to a phone.
CHANNEL_KINDS = [c for c in Kind.choices if c[0] not in (Kind.SMS, Kind.VOICE)]
# Default rate limits per kind: (messages, per window). What is over the limit
# waits and is bundled into the next message; it is never dropped.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, timedelta]] = {
    Kind.SMS: (1, timedelta(minutes=1)),
    Kind.VOICE: (3, timedelta(minutes=15)),
}


class Urgency(models.TextChoices):
    HIGH = "high", "High (P0, P1)"
    LOW = "low", "Low (P2, P3)"


class ContactMethod(models.Model):
    """One way to reach a person, usable for pages once verified."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="contact_methods",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    label = models.CharField(max_length=100, blank=True)
    address = models.CharField(
        max_length=2000,
        help_text="Email address, E.164 phone number (+15551234567), webhook "
        "URL or Apprise URL, according to the kind.",
    )
    secret = models.CharField(
        max_length=64, blank=True, help_text="Signs webhook bodies (HMAC-SHA256)."
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_code_hash = models.CharField(max_length=64, blank=True)
    verification_sent_at = models.DateTimeField(null=True, blank=True)
    verification_failures = models.PositiveSmallIntegerField(default=0)
    rate_limit_count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Messages allowed per window (kind default)."
    )
    rate_limit_window = models.DurationField(null=True, blank=True)
    # The quarterly contact-method test (`services/contact_tests.py`): when a
    # test message was last confirmed, and since when the oldest test still
    # open was sent (empty once one is confirmed).
    test_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    unconfirmed_since = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "kind", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "address"], name="unique_contact_method"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()} {self.display_address}"

    @property
    def display_address(self) -> str:
        """Return the address, with URL secrets masked."""
        return mask_address(self.kind, self.address)

    @property
    def rate_limit(self) -> tuple[int, timedelta] | None:
        """Return (messages, window), or None when unlimited."""
        if self.rate_limit_count and self.rate_limit_window:
            return self.rate_limit_count, self.rate_limit_window
        return DEFAULT_RATE_LIMITS.get(self.kind)


class NotificationRule(models.Model):
    """Reach the user on a contact method, this long after a page starts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_rules",
    )
    urgency = models.CharField(max_length=8, choices=Urgency.choices)
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="rules"
    )
    delay = models.DurationField(
        default=timedelta(0), help_text="After the page starts (0 = immediately)."
    )

    class Meta:
        ordering = ["user", "urgency", "delay", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_method", "urgency", "delay"], name="unique_rule_step"
            )
        ]

    def __str__(self) -> str:
        minutes = int(self.delay.total_seconds() // 60)
        when = "immediately" if not minutes else f"after {minutes} min"
        return f"{self.get_urgency_display()}: {when} by {self.contact_method}"


class Channel(models.Model):
    """A team's or service's room or list, told of incidents as they go."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=CHANNEL_KINDS)
    address = models.CharField(max_length=2000)
    secret = models.CharField(max_length=64, blank=True)
    team = models.ForeignKey(
        "incidents.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
        help_text="Every service of this team…",
    )
    service = models.ForeignKey(
        "incidents.Service",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="channels",
        help_text="…or this service only.",
    )
    minimum_severity = models.ForeignKey(
        "incidents.SeverityLevel",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Only incidents this severe or worse (empty: all).",
    )
    on_initial = models.BooleanField("initial notification", default=True)
    on_update = models.BooleanField("status updates", default=True)
    on_resolution = models.BooleanField("resolution", default=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False) ^ Q(service__isnull=False),
                name="channel_of_team_or_service",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def display_address(self) -> str:
        return mask_address(self.kind, self.address)


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


class Subscription(models.Model):
    """An internal stakeholder told of a service's incidents: a person (on one
    of their contact methods) or a chat channel, for the messages chosen.

    Drills reach a subscriber only if `drills` is set, and always marked
    [DRILL]; a responder of the drill is paged as for any incident.
    """

    service = models.ForeignKey(
        "incidents.Service", on_delete=models.CASCADE, related_name="subscriptions"
    )
    contact_method = models.ForeignKey(
        ContactMethod,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        help_text="A person's contact method…",
    )
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="subscriptions",
        help_text="…or a chat channel.",
    )
    on_initial = models.BooleanField("initial notification", default=True)
    on_update = models.BooleanField("status updates", default=True)
    on_resolution = models.BooleanField("resolution", default=True)
    drills = models.BooleanField(
        default=False, help_text="Also drills (their messages say [DRILL])."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact_method__isnull=False) ^ Q(channel__isnull=False),
                name="subscription_of_person_or_channel",
            ),
            models.UniqueConstraint(
                fields=["service", "contact_method"],
                condition=Q(contact_method__isnull=False),
                name="one_subscription_per_service_and_contact",
            ),
            models.UniqueConstraint(
                fields=["service", "channel"],
                condition=Q(channel__isnull=False),
                name="one_subscription_per_service_and_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_method or self.channel} on {self.service}"


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


class ContactTestRound(models.Model):
    """One test of every verified contact method: quarterly, or started by hand."""

    # "2026-Q4" for the quarter's scheduled round, "manual-…" for one by hand.
    key = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Contact test {self.key}"


class ContactTest(models.Model):
    """One contact method's test in a round: sent, confirmed, reminded, reported.

    A signed link (or an SMS reply "CONFIRM <code>") confirms it once; the
    sweep claims `reminded_at` and `reported_at` so each happens once.
    """

    round = models.ForeignKey(
        ContactTestRound, on_delete=models.CASCADE, related_name="tests"
    )
    contact_method = models.ForeignKey(
        ContactMethod, on_delete=models.CASCADE, related_name="tests"
    )
    nonce = models.CharField(max_length=64)
    code = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_via = models.CharField(max_length=16, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    # Whom the report went to ("no team lead" when nobody could be told).
    reported_to = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "contact_method"], name="one_test_per_round_and_method"
            )
        ]
        indexes = [
            # The sweep reads only the open tests.
            models.Index(
                fields=["created_at"],
                name="contact_test_open_idx",
                condition=Q(confirmed_at__isnull=True, reported_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.round.key}: {self.contact_method}"


class ReplyFailure(models.Model):
    """An SMS reply that named no waiting page: a wrong code, counted."""

    phone = models.CharField(max_length=32)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["phone", "at"])]

    def __str__(self) -> str:
        return f"wrong code from {self.phone} at {self.at:%Y-%m-%d %H:%M}"


def mask_address(kind: str, address: str) -> str:
    """Return `address` with the secret part of a URL hidden."""
    if kind not in URL_KINDS:
        return address
    head, sep, _rest = address.partition("://")
    if not sep:
        return "…"
    host = _rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{head}://{host}/…"
