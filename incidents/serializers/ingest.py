"""API shapes for integrations, alerts, reports, changes and maintenance."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from config.serializers import RefuseUnknownFields, StrictInputSerializer
from incidents.models import (
    Alert,
    AlertEvent,
    ChangeEvent,
    Integration,
    MaintenanceWindow,
    SeverityLevel,
)
from incidents.serializers.fields import VisibleServiceField

_INGEST_URLS: dict[str, dict[str, str]] = {
    Integration.Kind.PAGERDUTY: {
        "events": "ingest-pagerduty",
        "change_events": "ingest-pagerduty-change",
    },
    Integration.Kind.ALERTMANAGER: {"webhook": "ingest-alertmanager"},
    Integration.Kind.GENERIC: {"webhook": "ingest-generic"},
    Integration.Kind.HEARTBEAT: {"ping": "ingest-heartbeat"},
}


class IntegrationSerializer(serializers.ModelSerializer[Integration]):
    service = VisibleServiceField()
    urls = serializers.SerializerMethodField()

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "kind",
            "service",
            "enabled",
            "key_prefix",
            "previous_key_expires_at",
            "urls",
            "auto_resolve",
            "default_severity",
            "severity_mapping",
            "field_mapping",
            "heartbeat_interval",
            "heartbeat_cron",
            "heartbeat_timezone",
            "heartbeat_grace",
            "last_ping_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "key_prefix",
            "previous_key_expires_at",
            "urls",
            "last_ping_at",
            "created_at",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.URLField()))
    def get_urls(self, integration: Integration) -> dict[str, str]:
        """Where the sender posts; the key goes in the header or body."""
        request = self.context.get("request")
        return {
            name: reverse(route, request=request)
            for name, route in _INGEST_URLS.get(integration.kind, {}).items()
        }


class IntegrationWithKeySerializer(IntegrationSerializer):
    """The one answer that carries the key in full: creation and rotation."""

    key = serializers.SerializerMethodField()

    class Meta(IntegrationSerializer.Meta):
        fields = [*IntegrationSerializer.Meta.fields, "key"]

    def get_key(self, integration: Integration) -> str:
        return str(self.context["key"])


class IntegrationInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(Integration.Kind.choices)
    service = VisibleServiceField()
    enabled = serializers.BooleanField(required=False)
    auto_resolve = serializers.BooleanField(required=False)
    default_severity = serializers.SlugRelatedField(
        slug_field="code", queryset=SeverityLevel.objects.all(), required=False
    )
    severity_mapping = serializers.DictField(
        child=serializers.CharField(max_length=2), required=False
    )
    field_mapping = serializers.DictField(
        child=serializers.CharField(max_length=200), required=False
    )
    heartbeat_interval = serializers.DurationField(required=False, allow_null=True)
    heartbeat_cron = serializers.CharField(
        max_length=100, required=False, allow_blank=True
    )
    heartbeat_timezone = serializers.CharField(max_length=64, required=False)
    heartbeat_grace = serializers.DurationField(required=False, allow_null=True)

    def validate_default_severity(self, value: SeverityLevel) -> str:
        return value.code


class IntegrationUpdateSerializer(IntegrationInputSerializer):
    name = serializers.CharField(max_length=100, required=False)
    kind = None  # type: ignore[assignment]
    service = None  # type: ignore[assignment]


class RotateKeySerializer(StrictInputSerializer):
    overlap_hours = serializers.IntegerField(min_value=0, max_value=24 * 30, default=24)


class AlertSerializer(serializers.ModelSerializer[Alert]):
    incident: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    service: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "integration",
            "service",
            "source",
            "incident",
            "maintenance_window",
            "dedup_key",
            "status",
            "summary",
            "severity",
            "sender_severity",
            "details",
            "first_seen_at",
            "last_seen_at",
            "event_count",
            "acknowledged_at",
            "resolved_at",
        ]
        read_only_fields = fields


class AlertEventSerializer(serializers.ModelSerializer[AlertEvent]):
    incident: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    # Failed: quarantined after its last attempt, with `error`; re-drive it
    # with POST …/redrive/.
    status = serializers.ChoiceField(choices=AlertEvent.Status.choices, read_only=True)

    class Meta:
        model = AlertEvent
        fields = [
            "id",
            "integration",
            "source",
            "action",
            "dedup_key",
            "payload",
            "received_at",
            "processed_at",
            "incident",
            "outcome",
            "status",
            "attempts",
            "error",
            "failed_at",
        ]
        read_only_fields = fields


class UserReportSerializer(StrictInputSerializer):
    service = VisibleServiceField()
    title = serializers.CharField(max_length=1024)
    description = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default=""
    )
    severity = serializers.SlugRelatedField(
        slug_field="code", queryset=SeverityLevel.objects.all(), required=False
    )


class ChangeEventSerializer(serializers.ModelSerializer[ChangeEvent]):
    class Meta:
        model = ChangeEvent
        fields = ["id", "integration", "summary", "source", "timestamp", "payload"]
        read_only_fields = fields


class MaintenanceWindowSerializer(
    RefuseUnknownFields, serializers.ModelSerializer[MaintenanceWindow]
):
    service = VisibleServiceField()
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = MaintenanceWindow
        fields = [
            "id",
            "service",
            "starts_at",
            "ends_at",
            "reason",
            "created_by",
            "closed_at",
            "summary",
        ]
        read_only_fields = ["id", "created_by", "closed_at", "summary"]
