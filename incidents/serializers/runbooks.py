"""API shapes of runbooks, incident checklists and external contacts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import (
    RefuseUnknownFields,
    StrictInputSerializer,
    VisibleIdField,
    enum_schema,
)
from incidents import runbook_conditions
from incidents.models import (
    ExternalContact,
    Incident,
    IncidentRunbook,
    IncidentRunbookStep,
    Phase,
    Runbook,
    RunbookStep,
    Service,
    SeverityLevel,
    Team,
)
from incidents.runbook_selectors import external_contact_list, runbook_list
from incidents.serializers.fields import VisibleServiceField, VisibleTeamField


# Named components of their own: "kind", "state" and "phase" fields elsewhere
# have other choices, and the schema's enum naming would otherwise collide.
@extend_schema_field(
    enum_schema(Phase.choices, blank=True), component_name="RunbookPhaseEnum"
)
class PhaseField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Phase.choices, allow_blank=True, **kwargs)


@extend_schema_field(
    enum_schema(ExternalContact.Kind.choices), component_name="ExternalContactKindEnum"
)
class ContactKindField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(ExternalContact.Kind.choices, **kwargs)


@extend_schema_field(
    enum_schema(IncidentRunbookStep.State.choices),
    component_name="RunbookStepStateEnum",
)
class StepStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(IncidentRunbookStep.State.choices, **kwargs)


@extend_schema_field(
    enum_schema(Incident.Category.choices, blank=True),
    component_name="RunbookCategoryEnum",
)
class CategoryField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Incident.Category.choices, allow_blank=True, **kwargs)


# A URL or an empty string: the schema's "uri" format would refuse the latter.
@extend_schema_field({"type": "string", "description": "A URL, or empty."})
class OptionalURLField(serializers.URLField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


def _by_code(**kwargs: Any) -> serializers.SlugRelatedField[SeverityLevel]:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=SeverityLevel.objects.all(), **kwargs
    )


# --- External contacts ------------------------------------------------------


class ExternalContactSerializer(
    RefuseUnknownFields, serializers.ModelSerializer[ExternalContact]
):
    team = VisibleTeamField()
    kind = ContactKindField(required=False)
    support_url = OptionalURLField(max_length=200, required=False)

    class Meta:
        model = ExternalContact
        fields = [
            "id",
            "team",
            "name",
            "kind",
            "emergency_line",
            "account_reference",
            "support_url",
            "hours",
            "notes",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is the service's to check, with a clear message.
        validators: list[Any] = []


class ContactSummarySerializer(serializers.ModelSerializer[ExternalContact]):
    kind = ContactKindField(read_only=True)
    support_url = OptionalURLField(read_only=True)

    class Meta:
        model = ExternalContact
        fields = [
            "id",
            "name",
            "kind",
            "emergency_line",
            "account_reference",
            "support_url",
            "hours",
        ]
        read_only_fields = fields


# --- Runbooks ---------------------------------------------------------------


class RunbookStepSerializer(serializers.ModelSerializer[RunbookStep]):
    link = OptionalURLField(read_only=True)
    phase = PhaseField(read_only=True)
    external_contact = ContactSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = RunbookStep
        fields = [
            "position",
            "text",
            "commands",
            "link",
            "phase",
            "required",
            "external_contact",
        ]
        read_only_fields = fields


class RunbookSerializer(serializers.ModelSerializer[Runbook]):
    team: serializers.SlugRelatedField[Team] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    category = CategoryField(read_only=True)
    severity_at_least: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    )
    severity_at_most: serializers.SlugRelatedField[SeverityLevel] = (
        serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    )
    service: serializers.SlugRelatedField[Service] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    attaches_to = serializers.SerializerMethodField()
    steps = RunbookStepSerializer(many=True, read_only=True)

    class Meta:
        model = Runbook
        fields = [
            "id",
            "name",
            "description",
            "team",
            "category",
            "severity_at_least",
            "severity_at_most",
            "service",
            "enabled",
            "attaches_to",
            "steps",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_attaches_to(self, runbook: Runbook) -> str:
        """When the runbook attaches, in words."""
        return runbook_conditions.describe(runbook)


class RunbookStepInputSerializer(StrictInputSerializer):
    position = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=32_767,
        help_text="Orders the steps when every step has one; else the list's "
        "order does. Stored as 1, 2, 3…",
    )
    text = serializers.CharField(max_length=10_000)
    commands = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default=""
    )
    link = OptionalURLField(max_length=500, required=False, default="")
    phase = PhaseField(required=False, default="")
    required = serializers.BooleanField(default=True)  # type: ignore[assignment]
    external_contact = VisibleIdField(
        ExternalContact,
        among=external_contact_list,
        required=False,
        allow_null=True,
        default=None,
    )


class RunbookInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(
        max_length=10_000, required=False, allow_blank=True, default=""
    )
    team = VisibleTeamField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Slug of one of your teams; null: shared by every team "
        "(superusers only).",
    )
    category = CategoryField(required=False, default="")
    severity_at_least = _by_code(required=False, allow_null=True, default=None)
    severity_at_most = _by_code(required=False, allow_null=True, default=None)
    service = VisibleServiceField(required=False, allow_null=True, default=None)
    enabled = serializers.BooleanField(default=True)
    steps = RunbookStepInputSerializer(
        many=True, help_text="All the steps in order; on update they replace the old."
    )


# --- Checklists on incidents ------------------------------------------------


class IncidentRunbookStepSerializer(serializers.ModelSerializer[IncidentRunbookStep]):
    runbook = serializers.CharField(source="incident_runbook.name", read_only=True)
    link = OptionalURLField(read_only=True)
    phase = PhaseField(read_only=True)
    state = StepStateField(read_only=True)
    external_contact = ContactSummarySerializer(read_only=True, allow_null=True)
    done_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = IncidentRunbookStep
        fields = [
            "id",
            "runbook",
            "position",
            "text",
            "commands",
            "link",
            "phase",
            "required",
            "external_contact",
            "state",
            "done_at",
            "done_by",
            "skip_reason",
            "note",
        ]
        read_only_fields = fields


class IncidentRunbookSerializer(serializers.ModelSerializer[IncidentRunbook]):
    attached_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    steps = IncidentRunbookStepSerializer(many=True, read_only=True)

    class Meta:
        model = IncidentRunbook
        fields = [
            "id",
            "runbook",
            "name",
            "description",
            "attached_at",
            "attached_by",
            "reason",
            "steps",
        ]
        read_only_fields = fields


class AttachRunbookSerializer(StrictInputSerializer):
    runbook = VisibleIdField(Runbook, among=runbook_list)


class SkipStepSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=2_000)


class StepNoteSerializer(StrictInputSerializer):
    text = serializers.CharField(max_length=10_000)
