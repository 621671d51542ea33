"""Shapes of the verification checklist, the response checklist and resolve."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.serializers import StrictInputSerializer, UserSummarySerializer
from incidents.models import IncidentVerificationItem


class VerificationItemSerializer(serializers.ModelSerializer[IncidentVerificationItem]):
    checked = serializers.SerializerMethodField()
    checked_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = IncidentVerificationItem
        fields = ["id", "label", "position", "checked", "checked_at", "checked_by"]
        read_only_fields = fields

    def get_checked(self, item: IncidentVerificationItem) -> bool:
        return item.checked_at is not None


class VerificationSerializer(serializers.Serializer[Any]):
    required_to_resolve = serializers.BooleanField(
        help_text="Whether the severity refuses to resolve while items are open."
    )
    complete = serializers.BooleanField()
    items = VerificationItemSerializer(many=True)


class ChecklistItemSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    applies = serializers.BooleanField(
        help_text="False for items the protocol asks only of other severities."
    )
    done = serializers.BooleanField()
    proof = serializers.ChoiceField(
        ["timeline", "hand", ""],
        source="source",
        help_text="What ticked it: the timeline event that proves it, or a "
        "responder by hand; empty while open.",
    )
    at = serializers.DateTimeField(allow_null=True)
    by = serializers.CharField(allow_null=True, help_text="Username, if a person.")
    event = serializers.IntegerField(
        allow_null=True, help_text="Id of the proving timeline event."
    )
    hand_tickable = serializers.BooleanField(
        help_text="Whether a responder ticks it (nothing on the timeline proves it)."
    )


class ResolveSerializer(StrictInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    override_verification = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Resolve with verification items open (incident commander, "
        "team lead or manager only; needs a reason).",
    )


class OpenItemSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]


class ConflictSerializer(serializers.Serializer[Any]):
    """A 409: an illegal transition, or a resolve with verification open."""

    detail = serializers.CharField()
    code = serializers.CharField(
        help_text="illegal_transition, verification_incomplete, checklist_state…"
    )
    current = serializers.CharField(required=False)
    requested = serializers.CharField(required=False)
    allowed = serializers.ListField(child=serializers.CharField(), required=False)
    open_items = OpenItemSerializer(
        many=True,
        required=False,
        help_text="With verification_incomplete: the items still to tick.",
    )
