"""Shapes of the security response: visibility, evidence, custody."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.serializers import StrictInputSerializer
from incidents.models import CustodyTransfer, EvidenceRecord, Incident
from incidents.serializers.fields import VisibleUserField


class VisibilitySerializer(StrictInputSerializer):
    restricted = serializers.BooleanField(
        help_text="True: only the named responders, the team's leads and "
        "managers and superusers see the details; false: the whole team."
    )
    responders = VisibleUserField(
        many=True,
        required=False,
        default=list,
        help_text="Usernames to name besides you and the role holders.",
    )
    reason = serializers.CharField(
        max_length=2_000, required=False, allow_blank=True, default=""
    )


class NamedResponderSerializer(serializers.ModelSerializer[Incident]):
    named_responders: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", many=True, read_only=True
    )

    class Meta:
        model = Incident
        fields = ["public_id", "restricted", "named_responders"]
        read_only_fields = fields


class CustodyTransferSerializer(serializers.ModelSerializer[CustodyTransfer]):
    recorded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = CustodyTransfer
        fields = [
            "id",
            "from_holder",
            "to_holder",
            "location",
            "reason",
            "transferred_at",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class EvidenceRecordSerializer(serializers.ModelSerializer[EvidenceRecord]):
    recorded_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    transfers = CustodyTransferSerializer(many=True, read_only=True)
    holder = serializers.SerializerMethodField(help_text="Who holds it now.")

    class Meta:
        model = EvidenceRecord
        fields = [
            "id",
            "what",
            "location",
            "hash_algorithm",
            "hash",
            "collected_by",
            "collected_at",
            "recorded_by",
            "recorded_at",
            "holder",
            "transfers",
        ]
        read_only_fields = fields

    def get_holder(self, record: EvidenceRecord) -> str:
        transfers = list(record.transfers.all())
        return transfers[-1].to_holder if transfers else record.collected_by


class EvidenceInputSerializer(StrictInputSerializer):
    what = serializers.CharField(max_length=10_000)
    location = serializers.CharField(max_length=500)
    hash_algorithm = serializers.ChoiceField(
        EvidenceRecord.HashAlgorithm.choices,
        default=EvidenceRecord.HashAlgorithm.SHA256,
    )
    hash = serializers.CharField(max_length=128, help_text="Hexadecimal digest.")
    collected_by = serializers.CharField(max_length=200)
    collected_at = serializers.DateTimeField(required=False, help_text="Default: now.")


class CustodyTransferInputSerializer(StrictInputSerializer):
    to_holder = serializers.CharField(max_length=200)
    from_holder = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Default: the last holder.",
        max_length=200,
    )
    location = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    reason = serializers.CharField(
        max_length=2_000, required=False, allow_blank=True, default=""
    )
    transferred_at = serializers.DateTimeField(
        required=False, help_text="Default: now."
    )
