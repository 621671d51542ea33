"""The public status page's rows: its branding, its subscribers, sign-up attempts."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from notifications.models.contacts import Kind, mask_address

# Colours go into the page's style sheet: nothing but #rrggbb.
COLOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #rrggbb.")


class StatusPage(models.Model):
    """How the public status page looks; one row (the first) is used."""

    name = models.CharField(max_length=100, default="Status")
    logo_url = models.URLField(blank=True, help_text="An image shown beside the name.")
    accent_color = models.CharField(
        max_length=7,
        default="#1d4ed8",
        validators=[COLOR],
        help_text="Links and buttons (#rrggbb).",
    )
    header_color = models.CharField(
        max_length=7,
        default="#0f172a",
        validators=[COLOR],
        help_text="The header's background (#rrggbb).",
    )
    footer_links = models.TextField(
        blank=True,
        help_text="One link a line: the label, a space, then the URL "
        "(Support https://example.com/support).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "status page"

    def __str__(self) -> str:
        return self.name


class SignupAttempt(models.Model):
    """One public sign-up, counted per source (a hash of the client address)."""

    source = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["source", "at"])]

    def __str__(self) -> str:
        return f"{self.source[:8]}… at {self.at:%Y-%m-%d %H:%M}"


# What a member of the public may subscribe with.
PUBLIC_KINDS = [
    c for c in Kind.choices if c[0] in (Kind.EMAIL, Kind.WEBHOOK, Kind.APPRISE)
]


class PublicSubscriber(models.Model):
    """Someone outside told of public incidents, once they confirmed (opt-in)."""

    kind = models.CharField(max_length=16, choices=PUBLIC_KINDS)
    address = models.CharField(max_length=2000)
    secret = models.CharField(
        max_length=64, blank=True, help_text="Signs webhook bodies (HMAC-SHA256)."
    )
    services = models.ManyToManyField(
        "incidents.Service",
        blank=True,
        related_name="public_subscribers",
        help_text="The public services they hear of (none: every one).",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "address"], name="unique_public_subscriber"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.display_address}"

    @property
    def display_address(self) -> str:
        return mask_address(self.kind, self.address)
