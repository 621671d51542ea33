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
from incidents.selectors import incident_pir_required_reasons
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
        fields = ["id", "name", "slug", "time_zone", "memberships"]


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


# What a team member who is not a named responder of a restricted incident
# sees in place of its details (id, severity, status, team and times stay).
HIDDEN_DETAILS: dict[str, Any] = {
    "title": "Restricted incident",
    "summary": "",
    "allowed_transitions": [],
    "category": None,
    "detection_source": None,
    "service": None,
    "affected_services": [],
    "users_affected": None,
    "impact": "",
    "root_cause": "",
    "resolution_type": "",
    "war_room_channel": "",
    "roles": [],
    "created_by": None,
    "pir_required_reasons": [],
}


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    """An incident; a restricted one whose details the caller may not see
    (the queryset's `details_visible` annotation) as its HIDDEN_DETAILS."""

    severity: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True)
    )
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    category = serializers.ChoiceField(
        Incident.Category.choices, read_only=True, allow_null=True
    )
    detection_source = serializers.ChoiceField(
        Incident.DetectionSource.choices, read_only=True, allow_null=True
    )
    pir_required_reasons = serializers.SerializerMethodField(
        help_text="Why a post-incident review is required; empty: not required."
    )
    details_hidden = serializers.SerializerMethodField(
        help_text="True: the incident is restricted to named responders and "
        "the caller is not one; its details read as blanks."
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
            "restricted",
            "details_hidden",
            "pir_required_reasons",
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

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_pir_required_reasons(self, incident: Incident) -> list[str]:
        return incident_pir_required_reasons(incident=incident)

    def get_details_hidden(self, incident: Incident) -> bool:
        return not getattr(incident, "details_visible", True)

    def to_representation(self, incident: Incident) -> dict[str, Any]:
        data = super().to_representation(incident)
        if data["details_hidden"]:
            data.update(HIDDEN_DETAILS)
        return data


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
    service = VisibleServiceField(
        required=False,
        help_text="Another service of the incident's team; attaches the "
        "runbooks the incident then meets.",
    )
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
