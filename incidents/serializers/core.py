"""Shapes of the incident core's API: input parsing and output only."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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
from incidents.selectors import service_list, team_list, teammate_list

User = get_user_model()


class RefuseUnknownFields:
    """Input that names an unknown field is refused, not silently ignored."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: ["Unknown field; it cannot be set here."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """An input-only serializer that refuses unknown fields."""


class UserSummarySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.SerializerMethodField()

    def get_name(self, user: Any) -> str:
        return str(user.get_full_name() or user.get_username())


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
        fields = ["id", "name", "slug", "time_zone", "memberships"]


class VisibleTeamField(serializers.SlugRelatedField[Team]):
    """A team given by slug, among the caller's teams."""

    def __init__(self, **kwargs: Any) -> None:
        # The static queryset only describes the field in the OpenAPI schema;
        # lookups go through get_queryset, scoped to the caller.
        super().__init__(slug_field="slug", queryset=Team.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return team_list(user=self.context["request"].user)


class VisibleUserField(serializers.SlugRelatedField[Any]):
    """A user given by username, among those `among` returns for the caller
    (by default the active members of the caller's teams): anyone else is
    "does not exist", as a username nobody has."""

    def __init__(self, among: Any = teammate_list, **kwargs: Any) -> None:
        self.among = among
        super().__init__(slug_field="username", queryset=User.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return self.among(user=self.context["request"].user)


def enum_schema(choices: list[tuple[str, str]], blank: bool = False) -> dict[str, Any]:
    """Return the OpenAPI schema of a string field with these choices (and
    "" when `blank`), for a field that names its own enum component."""
    return {
        "type": "string",
        "enum": [*(value for value, _ in choices), *([""] if blank else [])],
        "description": "\n".join(f"* `{value}` - {label}" for value, label in choices),
    }


class VisibleIdField(serializers.PrimaryKeyRelatedField[Any]):
    """An object of `model` given by id, among those `among` returns for the
    caller: anyone else's is "does not exist", as an id nobody has."""

    def __init__(self, model: type[Model], among: Any, **kwargs: Any) -> None:
        self.among = among
        super().__init__(queryset=model._default_manager.all(), **kwargs)

    def get_queryset(self) -> Any:
        return self.among(user=self.context["request"].user)


class ServiceSerializer(serializers.ModelSerializer[Service]):
    team = VisibleTeamField()
    slug = serializers.SlugField(required=False, max_length=100)

    class Meta:
        model = Service
        fields = ["id", "name", "slug", "team", "description"]


class VisibleServiceField(serializers.SlugRelatedField[Service]):
    """A service given by slug, among the services of the caller's teams."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Service.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return service_list(user=self.context["request"].user)


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


class TimelineEventSerializer(serializers.ModelSerializer[TimelineEvent]):
    actor: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = TimelineEvent
        fields = ["id", "kind", "at", "actor", "via", "message", "data"]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer[Any]):
    """The body of every 4xx answer that is not a field validation error."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)
