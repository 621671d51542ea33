"""Shapes of the drills API: scenarios, drills, drill schedules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from config.serializers import StrictInputSerializer, UserSummarySerializer
from escalation.models import Drill, DrillMode, DrillScenario, DrillSchedule
from escalation.services.drill_schedules import drill_schedule_cron
from incidents.models import Incident
from incidents.serializers.fields import (
    SeverityCodeField,
    VisibleServiceField,
    VisibleTeamField,
)

WINDOW_MAX = timedelta(days=7)


class DrillScenarioSerializer(serializers.ModelSerializer[DrillScenario]):
    severity = serializers.CharField(source="severity_id", read_only=True)
    service: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )

    class Meta:
        model = DrillScenario
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "severity",
            "category",
            "service",
            "alert_format",
            "alert",
            "expected",
            "time_box",
            "created_at",
        ]
        read_only_fields = fields


class DrillScenarioInputSerializer(StrictInputSerializer):
    slug = serializers.SlugField(max_length=100)
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(allow_blank=True, default="", max_length=5000)
    severity = SeverityCodeField()
    category = serializers.ChoiceField(choices=Incident.Category.choices)
    service = VisibleServiceField(required=False, allow_null=True)
    alert_format = serializers.ChoiceField(choices=DrillScenario.Format.choices)
    alert = serializers.JSONField(
        help_text="One PagerDuty Events v2 trigger, or one Alertmanager webhook."
    )
    expected = serializers.ListField(
        child=serializers.ChoiceField(choices=DrillScenario.Expectation.choices),
        default=list,
        max_length=5,
    )
    time_box = serializers.DurationField(
        default=timedelta(hours=1),
        min_value=timedelta(minutes=1),
        max_value=timedelta(days=1),
    )


class DrillScenarioUpdateSerializer(DrillScenarioInputSerializer):
    slug = serializers.SlugField(max_length=100, required=False)
    name = serializers.CharField(max_length=100, required=False)
    severity = SeverityCodeField(required=False)
    category = serializers.ChoiceField(
        choices=Incident.Category.choices, required=False
    )
    alert_format = serializers.ChoiceField(
        choices=DrillScenario.Format.choices, required=False
    )
    alert = serializers.JSONField(required=False)
    description = serializers.CharField(
        allow_blank=True, required=False, max_length=5000
    )
    expected = serializers.ListField(
        child=serializers.ChoiceField(choices=DrillScenario.Expectation.choices),
        required=False,
        max_length=5,
    )
    time_box = serializers.DurationField(
        required=False, min_value=timedelta(minutes=1), max_value=timedelta(days=1)
    )


class DrillSerializer(serializers.ModelSerializer[Drill]):
    scenario: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    service: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    incident: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    started_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Drill
        fields = [
            "id",
            "scenario",
            "team",
            "service",
            "schedule",
            "slot",
            "mode",
            "state",
            "reason",
            "due_at",
            "started_at",
            "ends_at",
            "finished_at",
            "incident",
            "started_by",
            "created_at",
        ]
        read_only_fields = fields


class DrillStartSerializer(StrictInputSerializer):
    scenario = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=DrillScenario.objects.all(),
        help_text="The scenario's slug, e.g. site-down.",
    )
    team = VisibleTeamField()
    service = VisibleServiceField(
        required=False,
        allow_null=True,
        help_text="Default: the scenario's service if it is the team's, else "
        "the team's first.",
    )
    mode = serializers.ChoiceField(choices=DrillMode.choices, default=DrillMode.NORMAL)


class DrillScheduleSerializer(serializers.ModelSerializer[DrillSchedule]):
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    scenario: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    cron = serializers.SerializerMethodField()

    class Meta:
        model = DrillSchedule
        fields = [
            "id",
            "team",
            "name",
            "scenario",
            "frequency",
            "day",
            "hour",
            "minute",
            "time_zone",
            "window",
            "mode",
            "enabled",
            "cron",
            "created_at",
        ]
        read_only_fields = fields

    def get_cron(self, schedule: DrillSchedule) -> str:
        return drill_schedule_cron(schedule)


class DrillScheduleInputSerializer(StrictInputSerializer):
    team = VisibleTeamField()
    name = serializers.CharField(max_length=100)
    scenario = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=DrillScenario.objects.all(),
        required=False,
        allow_null=True,
        help_text="Leave out: each slot takes the library's next scenario.",
    )
    frequency = serializers.ChoiceField(
        choices=DrillSchedule.Frequency.choices, required=False
    )
    day = serializers.IntegerField(min_value=1, max_value=28, required=False)
    hour = serializers.IntegerField(min_value=0, max_value=23, required=False)
    minute = serializers.IntegerField(min_value=0, max_value=59, required=False)
    time_zone = serializers.CharField(
        max_length=64, required=False, help_text="IANA name; default: the team's."
    )
    window = serializers.DurationField(
        required=False, min_value=timedelta(0), max_value=WINDOW_MAX
    )
    mode = serializers.ChoiceField(choices=DrillMode.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class DrillScheduleUpdateSerializer(DrillScheduleInputSerializer):
    team = None  # type: ignore[assignment]
    name = serializers.CharField(max_length=100, required=False)
