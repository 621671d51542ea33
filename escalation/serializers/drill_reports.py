"""Shapes of the drill reports and trends API: output only, durations in
seconds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from escalation.drill_scores import Outcome
from incidents.serializers.fields import VisibleTeamField


class SecondsField(serializers.FloatField):
    """A duration, as seconds (null when it never happened or has no target)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value: timedelta) -> float:  # type: ignore[override]
        return value.total_seconds()


class ExpectationsSerializer(serializers.Serializer[Any]):
    acknowledge_within_seconds = SecondsField(source="acknowledge_within")
    commander_within_seconds = SecondsField(source="commander_within")
    update_cadence_seconds = SecondsField(source="update_cadence")
    resolve_within_seconds = SecondsField(source="resolve_within")
    checklist_items = serializers.ListField(
        child=serializers.CharField(), help_text="Response checklist item keys."
    )


class PageAttemptSerializer(serializers.Serializer[Any]):
    method = serializers.CharField(help_text="The contact method's kind and label.")
    status = serializers.CharField(
        help_text="The delivery's status: pending, sending, sent, failed, "
        "cancelled, or the status of the message it was bundled into."
    )
    at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()


class ResponderScoreSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    levels = serializers.ListField(child=serializers.CharField())
    paged_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    time_to_acknowledge_seconds = SecondsField(source="time_to_acknowledge")
    responded_at = serializers.DateTimeField(allow_null=True)
    time_to_respond_seconds = SecondsField(source="time_to_respond")
    never_responded = serializers.BooleanField()
    pages = PageAttemptSerializer(many=True)


class LevelScoreSerializer(serializers.Serializer[Any]):
    level = serializers.CharField(
        source="label", help_text="L<position> and its name, or the step's cause."
    )
    paged_at = serializers.DateTimeField()
    paged = serializers.ListField(child=serializers.CharField())
    outcome = serializers.CharField()
    acknowledged_by = serializers.CharField(allow_null=True)
    time_to_acknowledge_seconds = SecondsField(source="time_to_acknowledge")


class CommanderScoreSerializer(serializers.Serializer[Any]):
    user = serializers.CharField(allow_null=True)
    assigned_at = serializers.DateTimeField(allow_null=True)
    after_seconds = SecondsField(source="after")
    on_time = serializers.BooleanField()


class UpdateSlotSerializer(serializers.Serializer[Any]):
    due_at = serializers.DateTimeField()
    posted_at = serializers.DateTimeField(allow_null=True)
    missed = serializers.BooleanField()


class CadenceScoreSerializer(serializers.Serializer[Any]):
    cadence_seconds = SecondsField(source="cadence")
    kept = serializers.BooleanField()
    updates = UpdateSlotSerializer(many=True)


class ChecklistLineSerializer(serializers.Serializer[Any]):
    item = serializers.CharField(source="label")
    done = serializers.BooleanField()
    at = serializers.DateTimeField(allow_null=True)


class ChecklistScoreSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    items = ChecklistLineSerializer(many=True)
    runbook_steps = ChecklistLineSerializer(many=True)


class DrillReportSerializer(serializers.Serializer[Any]):
    incident = serializers.CharField(help_text="The drill incident's public id.")
    title = serializers.CharField()
    severity = serializers.CharField()
    service = serializers.CharField()
    team = serializers.CharField()
    status = serializers.CharField()
    detected_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    completed = serializers.BooleanField()
    expectations = ExpectationsSerializer()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    time_to_acknowledge_seconds = SecondsField(source="time_to_acknowledge")
    levels = LevelScoreSerializer(many=True)
    responders = ResponderScoreSerializer(many=True)
    commander = CommanderScoreSerializer()
    cadence = CadenceScoreSerializer()
    checklist = ChecklistScoreSerializer()
    resolved_at = serializers.DateTimeField(allow_null=True)
    time_to_resolve_seconds = SecondsField(source="time_to_resolve")
    improvements = serializers.ListField(child=serializers.CharField())


class DrillTrendSerializer(serializers.Serializer[Any]):
    incident = serializers.CharField()
    name = serializers.CharField(help_text="The scenario's name, else the title.")
    detected_at = serializers.DateTimeField()
    time_to_acknowledge_seconds = SecondsField(source="time_to_acknowledge")
    never_responded = serializers.ListField(child=serializers.CharField())
    cadence_kept = serializers.BooleanField(
        allow_null=True, help_text="Null when the severity has no cadence."
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    completed = serializers.BooleanField()


class DrillTrendsSerializer(serializers.Serializer[Any]):
    team = serializers.CharField()
    results = DrillTrendSerializer(many=True)


class DrillTrendsQuerySerializer(serializers.Serializer[Any]):
    team = VisibleTeamField(help_text="A team's slug, one of yours.")
