"""Shapes of the escalation API: input parsing and output only.

Targets name users by username, teams by slug and schedules by id, each
looked up among the caller's teams' (another team's is "does not exist", as
a missing one); the services decide whether one may be a target of the
policy's team or be paged.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import StrictInputSerializer, VisibleIdField, enum_schema
from escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Schedule,
)
from escalation.selectors import (
    escalation_policy_list,
    schedule_list,
)
from incidents.models import Incident, Service, SeverityLevel, Team, TeamMembership
from incidents.serializers.fields import (
    SeverityCodeField,
    VisibleTeamField,
    VisibleUserField,
)

User = get_user_model()


# Named components of their own: a field called "kind" or "role" elsewhere
# has other choices, and the schema's enum naming would otherwise collide.
@extend_schema_field(
    enum_schema(EscalationTarget.Kind.choices),
    component_name="EscalationTargetKindEnum",
)
class TargetKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(EscalationTarget.Kind.choices, **kwargs)


@extend_schema_field(
    enum_schema(TeamMembership.Role.choices, blank=True),
    component_name="EscalationTargetTeamRoleEnum",
)
class TeamRoleField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(TeamMembership.Role.choices, **kwargs)


# --- Policies ------------------------------------------------------------------


class EscalationTargetSerializer(serializers.ModelSerializer[EscalationTarget]):
    kind = TargetKindField(read_only=True)
    team_role = TeamRoleField(read_only=True)
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = EscalationTarget
        fields = ["id", "kind", "user", "team", "team_role", "schedule"]
        read_only_fields = fields


class EscalationLevelSerializer(serializers.ModelSerializer[EscalationLevel]):
    up_to_severity: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    )
    page_at_declaration_up_to: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    )
    targets = EscalationTargetSerializer(many=True, read_only=True)

    class Meta:
        model = EscalationLevel
        fields = [
            "position",
            "label",
            "name",
            "delay",
            "up_to_severity",
            "page_at_declaration_up_to",
            "targets",
        ]
        read_only_fields = fields


class EscalationPolicySerializer(serializers.ModelSerializer[EscalationPolicy]):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    services: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    levels = EscalationLevelSerializer(many=True, read_only=True)

    class Meta:
        model = EscalationPolicy
        fields = [
            "id",
            "name",
            "team",
            "description",
            "repeat",
            "ack_timeout",
            "services",
            "levels",
            "created_at",
        ]
        read_only_fields = fields


class EscalationTargetInputSerializer(StrictInputSerializer):
    kind = TargetKindField()
    user = VisibleUserField(required=False, allow_null=True)
    team = VisibleTeamField(required=False, allow_null=True)
    team_role = TeamRoleField(required=False, allow_blank=True)
    schedule = VisibleIdField(
        Schedule, among=schedule_list, required=False, allow_null=True
    )


class EscalationLevelInputSerializer(StrictInputSerializer):
    position = serializers.IntegerField(required=False, min_value=1)
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    delay = serializers.DurationField(
        required=False,
        allow_null=True,
        help_text="Wait before the next level (at most 7 days); null: the "
        "severity's ack target.",
    )
    up_to_severity = SeverityCodeField(required=False, allow_null=True)
    page_at_declaration_up_to = SeverityCodeField(required=False, allow_null=True)
    targets = EscalationTargetInputSerializer(many=True)


class EscalationPolicyInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    team = VisibleTeamField()
    description = serializers.CharField(allow_blank=True, default="")
    repeat = serializers.IntegerField(
        default=0, min_value=0, help_text="Passes after the first, up to 9."
    )
    ack_timeout = serializers.DurationField(
        default=None,
        allow_null=True,
        help_text="How long an acknowledgement holds (1 minute to 7 days): an "
        "incident still only acknowledged after it is triggered again and its "
        "escalation restarts. null: acknowledgements do not expire.",
    )
    levels = EscalationLevelInputSerializer(
        many=True, help_text="All the levels; on update they replace the old ones."
    )


class PolicyChoiceField(serializers.PrimaryKeyRelatedField[EscalationPolicy]):
    """A policy given by id, among the caller's teams' policies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=EscalationPolicy.objects.all(), **kwargs)

    def get_queryset(self) -> Any:
        return escalation_policy_list(user=self.context["request"].user)


class ServicePolicyInputSerializer(StrictInputSerializer):
    policy = PolicyChoiceField(allow_null=True)


class ServicePolicySerializer(serializers.ModelSerializer[Service]):
    policy: serializers.PrimaryKeyRelatedField[EscalationPolicy] = (
        serializers.PrimaryKeyRelatedField(
            source="escalation_policy", read_only=True, allow_null=True
        )
    )

    class Meta:
        model = Service
        fields = ["slug", "name", "policy"]
        read_only_fields = fields


# --- Preview -------------------------------------------------------------------


class AwareDateTimeField(serializers.DateTimeField):
    """A date and time that names its time zone; a naive one is refused."""

    default_error_messages = {
        "naive": "Give a time zone offset, e.g. 2026-11-24T10:00:00Z.",
    }

    def enforce_timezone(self, value: Any) -> Any:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


class PreviewQuerySerializer(serializers.Serializer[Any]):
    severity = SeverityCodeField(help_text="The incident's severity, e.g. P0.")
    at = AwareDateTimeField(
        required=False, help_text="When the incident is declared; default: now."
    )


class PreviewChannelSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField()
    address = serializers.CharField()
    minute = serializers.FloatField(help_text="When it fires, from declaration.")


class PreviewPageSerializer(serializers.Serializer[Any]):
    user = serializers.CharField(source="user.username")
    channels = PreviewChannelSerializer(many=True)


class PreviewSkipSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField()
    detail = serializers.CharField()


class PreviewStepSerializer(serializers.Serializer[Any]):
    minute = serializers.FloatField(help_text="Minutes from declaration.")
    at = serializers.DateTimeField()
    level = serializers.IntegerField(source="level.position")
    label = serializers.CharField()  # type: ignore[assignment]
    cause = serializers.ChoiceField(EscalationStep.Cause.choices)
    outcome = serializers.ChoiceField(EscalationStep.Outcome.choices)
    paged = PreviewPageSerializer(source="pages", many=True)
    skips = PreviewSkipSerializer(many=True)
    wait_minutes = serializers.SerializerMethodField()

    def get_wait_minutes(self, step: Any) -> float | None:
        return None if step.wait is None else step.wait.total_seconds() / 60


class PreviewSerializer(serializers.Serializer[Any]):
    service = serializers.CharField(source="service.slug")
    severity = serializers.CharField(source="severity.code")
    at = serializers.DateTimeField()
    urgency = serializers.CharField()
    policy = serializers.CharField(source="policy.name", allow_null=True)
    nobody_paged = serializers.BooleanField()
    repeats = serializers.IntegerField(help_text="Passes that follow this one.")
    notes = serializers.ListField(child=serializers.CharField())
    steps = PreviewStepSerializer(many=True)


# --- An incident's escalation ----------------------------------------------------


class EscalationStepSerializer(serializers.ModelSerializer[EscalationStep]):
    by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = EscalationStep
        fields = [
            "key",
            "cause",
            "level",
            "run",
            "repeat",
            "outcome",
            "users",
            "due_at",
            "fired_at",
            "by",
        ]
        read_only_fields = fields


class EscalationStateSerializer(serializers.ModelSerializer[Escalation]):
    incident: serializers.SlugRelatedField[Incident] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True
    )
    policy: serializers.StringRelatedField[EscalationPolicy] = (
        serializers.StringRelatedField(allow_null=True)
    )

    class Meta:
        model = Escalation
        fields = [
            "incident",
            "policy",
            "state",
            "run",
            "repeat",
            "level",
            "next_level",
            "due_at",
            "started_at",
            "updated_at",
        ]
        read_only_fields = fields


class EscalationSerializer(EscalationStateSerializer):
    steps = EscalationStepSerializer(many=True, read_only=True)

    class Meta(EscalationStateSerializer.Meta):
        fields = [*EscalationStateSerializer.Meta.fields, "steps"]
        read_only_fields = fields


class EscalationActionSerializer(serializers.Serializer[Any]):
    step = EscalationStepSerializer()
    escalation = EscalationStateSerializer()


class EscalationPageInputSerializer(StrictInputSerializer):
    user = VisibleUserField(help_text="Username, among your teams' members.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)
