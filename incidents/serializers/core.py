"""Shapes of the incident core's API: input parsing and output only."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import StrictInputSerializer, UserSummarySerializer
from incidents.lifecycle import allowed_next
from incidents.models import (
    Incident,
    IncidentRole,
    Service,
    SeverityLevel,
    Team,
    TeamMembership,
    TimelineEvent,
)
from incidents.serializers.fields import (
    VisibleServiceField,
    VisibleTeamField,
    VisibleUserField,
)
from incidents.timeline import timeline_kind_choices


class SeverityLevelSerializer(serializers.ModelSerializer[SeverityLevel]):
    class Meta:
        model = SeverityLevel
        fields = [
            "code",
            "name",
            "rank",
            "ack_target",
            "resolve_target",
            "update_cadence",
            "paged_at_declaration",
            "pir_required",
            "pir_on_repeat",
            "verification_required",
            "color",
            "version",
            "updated_at",
        ]
        read_only_fields = ["code", "rank", "version", "updated_at"]


class MembershipSerializer(serializers.ModelSerializer[TeamMembership]):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = TeamMembership
        fields = ["user", "role"]


class TeamSerializer(serializers.ModelSerializer[Team]):
    memberships = MembershipSerializer(many=True, read_only=True)

    class Meta:
        model = Team
        fields = ["id", "name", "slug", "memberships"]


class ServiceSerializer(serializers.ModelSerializer[Service]):
    team = VisibleTeamField()
    slug = serializers.SlugField(required=False, max_length=100)

    class Meta:
        model = Service
        fields = ["id", "name", "slug", "team", "description"]


class RoleHolderSerializer(serializers.Serializer[Any]):
    role = serializers.CharField()
    user = UserSummarySerializer()
    assigned_at = serializers.DateTimeField()


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    severity: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True)
    )
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        source="service.team", slug_field="slug", read_only=True
    )
    affected_services: serializers.SlugRelatedField[Service] = (
        serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    )
    roles = RoleHolderSerializer(source="role_assignments", many=True, read_only=True)
    allowed_transitions = serializers.SerializerMethodField()
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # Declared: a read-only field built from the model drops allow_blank,
    # and the schema's enum would then leave out "" (not resolved yet).
    resolution_type = serializers.ChoiceField(
        Incident.ResolutionType.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Incident
        fields = [
            "public_id",
            "title",
            "summary",
            "severity",
            "status",
            "allowed_transitions",
            "category",
            "detection_source",
            "service",
            "team",
            "affected_services",
            "users_affected",
            "impact",
            "root_cause",
            "resolution_type",
            "is_drill",
            "war_room_channel",
            "roles",
            "started_at",
            "detected_at",
            "acknowledged_at",
            "mitigated_at",
            "resolved_at",
            "closed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(Incident.Status.choices))
    )
    def get_allowed_transitions(self, incident: Incident) -> list[str]:
        return list(allowed_next(incident.status))


class IncidentCreateSerializer(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.SlugRelatedField(
        slug_field="code", queryset=SeverityLevel.objects.all()
    )
    service = VisibleServiceField()
    summary = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.ChoiceField(
        Incident.Category.choices, default=Incident.Category.OTHER
    )
    detection_source = serializers.ChoiceField(
        Incident.DetectionSource.choices, default=Incident.DetectionSource.TEAM_MEMBER
    )
    started_at = serializers.DateTimeField(required=False)
    detected_at = serializers.DateTimeField(required=False)
    affected_services = VisibleServiceField(many=True, required=False, default=list)
    users_affected = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**31 - 1
    )
    impact = serializers.CharField(required=False, allow_blank=True, default="")
    is_drill = serializers.BooleanField(default=False)


class IncidentUpdateSerializer(StrictInputSerializer):
    title = serializers.CharField(max_length=200, required=False)
    summary = serializers.CharField(required=False, allow_blank=True)
    category = serializers.ChoiceField(Incident.Category.choices, required=False)
    detection_source = serializers.ChoiceField(
        Incident.DetectionSource.choices, required=False
    )
    started_at = serializers.DateTimeField(required=False)
    affected_services = VisibleServiceField(many=True, required=False)
    users_affected = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**31 - 1
    )
    impact = serializers.CharField(required=False, allow_blank=True)
    root_cause = serializers.CharField(required=False, allow_blank=True)
    resolution_type = serializers.ChoiceField(
        Incident.ResolutionType.choices, required=False, allow_blank=True
    )


class TransitionSerializer(StrictInputSerializer):
    status = serializers.ChoiceField(Incident.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class SeverityChangeSerializer(StrictInputSerializer):
    severity = serializers.SlugRelatedField(
        slug_field="code", queryset=SeverityLevel.objects.all()
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AssignRoleSerializer(StrictInputSerializer):
    role = serializers.ChoiceField(IncidentRole.choices)
    user = VisibleUserField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class NoteSerializer(StrictInputSerializer):
    text = serializers.CharField(max_length=10_000)
    kind = serializers.ChoiceField(
        TimelineEvent.NoteKind.choices, default=TimelineEvent.NoteKind.NOTE
    )


class TimelineKindField(serializers.ChoiceField):
    """A timeline event's kind (output only), among the kinds the apps
    registered, read when used: the OpenAPI enum lists every one."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=[], read_only=True, **kwargs)

    def _get_choices(self) -> dict[str, str]:
        return dict(timeline_kind_choices())

    def _set_choices(self, choices: Any) -> None:
        """The registry is the only source of the choices."""

    choices = property(_get_choices, _set_choices)

    def to_representation(self, value: Any) -> str:
        return str(value)


class TimelineEventSerializer(serializers.ModelSerializer[TimelineEvent]):
    kind = TimelineKindField()
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "at", "actor", "via", "message", "data"]
        read_only_fields = fields
