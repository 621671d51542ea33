"""Shapes of status updates and of the update reminders' snooze."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.serializers import StrictInputSerializer, UserSummarySerializer
from incidents.models import Incident, StatusUpdate
from incidents.services.status_updates import MAX_TEXT


class StatusUpdateSerializer(serializers.ModelSerializer[StatusUpdate]):
    incident = serializers.CharField(source="incident.public_id", read_only=True)
    posted_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = StatusUpdate
        fields = [
            "id",
            "incident",
            "status",
            "text",
            "impact",
            "next_steps",
            "eta",
            "audience",
            "posted_by",
            "posted_at",
            "next_update_due_at",
        ]
        read_only_fields = fields


class StatusUpdateInputSerializer(StrictInputSerializer):
    text = serializers.CharField(
        max_length=MAX_TEXT, help_text="What we learned or did since the last update."
    )
    impact = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, default=""
    )
    next_steps = serializers.CharField(
        max_length=MAX_TEXT, required=False, allow_blank=True, default=""
    )
    eta = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When resolution is expected, if known.",
    )
    audience = serializers.ChoiceField(
        StatusUpdate.Audience.choices, default=StatusUpdate.Audience.INTERNAL
    )
    status = serializers.ChoiceField(
        Incident.Status.choices,
        required=False,
        allow_null=True,
        default=None,
        help_text="Move the incident to this status with the update (one "
        "message, not two); resolved sends the resolution message.",
    )


class SnoozeInputSerializer(StrictInputSerializer):
    until = serializers.DateTimeField(
        help_text="When reminders start again (within 24 hours)."
    )
    reason = serializers.CharField(max_length=500)


class UpdateClockSerializer(serializers.Serializer[Any]):
    next_update_due_at = serializers.DateTimeField(
        allow_null=True, help_text="The next update promised; null: none due."
    )
    update_reminders_snoozed_until = serializers.DateTimeField(allow_null=True)
