"""Evidence of a security incident and its chain of custody, append-only.

An evidence record says what was preserved, where it is kept, its hash, who
collected it and when; a custody transfer says who handed it to whom. Both
are written once and never changed or deleted: a correction is a new record
(or a transfer) that says so. The model, its queryset and the admin refuse
updates and deletes; rows go only with their incident.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.exceptions import EvidenceAppendOnlyError
from incidents.models.core import Incident


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise EvidenceAppendOnlyError("evidence records cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise EvidenceAppendOnlyError("evidence records cannot be deleted")


class AppendOnly(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise EvidenceAppendOnlyError("evidence records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise EvidenceAppendOnlyError("evidence records cannot be deleted")


class EvidenceRecord(AppendOnly):
    """One piece of evidence, as collected."""

    class HashAlgorithm(models.TextChoices):
        SHA256 = "sha256", "SHA-256"
        SHA512 = "sha512", "SHA-512"
        SHA1 = "sha1", "SHA-1"
        MD5 = "md5", "MD5"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="evidence"
    )
    what = models.TextField(help_text="What was preserved, e.g. a disk image.")
    location = models.CharField(
        max_length=500, help_text="Where it is kept now, e.g. a sealed bucket."
    )
    hash_algorithm = models.CharField(
        max_length=8, choices=HashAlgorithm.choices, default=HashAlgorithm.SHA256
    )
    hash = models.CharField(max_length=128, help_text="Hex digest of the evidence.")
    collected_by = models.CharField(
        max_length=200, help_text="Who collected it (a responder or an outsider)."
    )
    collected_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"E{self.pk}: {self.what[:60]}"


class CustodyTransfer(AppendOnly):
    """A hand-over of a piece of evidence from one holder to the next."""

    evidence = models.ForeignKey(
        EvidenceRecord, on_delete=models.CASCADE, related_name="transfers"
    )
    from_holder = models.CharField(max_length=200)
    to_holder = models.CharField(max_length=200)
    location = models.CharField(
        max_length=500, blank=True, help_text="Where it is kept after the hand-over."
    )
    reason = models.TextField(blank=True)
    transferred_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["evidence", "transferred_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_holder} → {self.to_holder}"
