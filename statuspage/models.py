"""The public status page's own rows: its branding, and sign-up attempts."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

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
