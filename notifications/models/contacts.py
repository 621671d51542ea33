"""Contact methods, notification rules, channels, stakeholder subscriptions and
contact-method tests, with the transport kinds the transports and the admin read.
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


def mask_address(kind: str, address: str) -> str:
    """Return `address` with the secret part of a URL hidden."""
    if kind not in URL_KINDS:
        return address
    head, sep, _rest = address.partition("://")
    if not sep:
        return "…"
    host = _rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{head}://{host}/…"
