"""Query strings and answers of the metrics API."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from rest_framework import serializers

from incidents.metrics_selectors import category_choices, severity_targets
from incidents.serializers.fields import VisibleServiceField, VisibleTeamField
from metrics.definitions import GROUPINGS, MEASURES, PERIODS, STATISTICS
from metrics.kpis import load as load_kpis


class UtcDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time with an offset, turned to UTC (an offset PostgreSQL
    refuses, past ±15:59, is still a time Python can convert)."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise serializers.ValidationError(
                "The date and time is out of range."
            ) from None


class SeverityCodeField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if code not in self.codes:
            raise serializers.ValidationError(f"{code!r} is not a severity.")
        return code

    @cached_property
    def codes(self) -> set[str]:
        """The matrix's codes, read once per query string (each serializer
        has its own copy of its fields)."""
        return {target["code"] for target in severity_targets()}


class MetricsQuerySerializer(serializers.Serializer[Any]):
    """Which incidents count: the caller's teams' incidents detected in
    [since, until), not cancelled; drills only with drills=true."""

    since = UtcDateTimeField(required=False)
    until = UtcDateTimeField(required=False)
    severity = serializers.ListField(child=SeverityCodeField(), required=False)
    service = serializers.ListField(child=VisibleServiceField(), required=False)
    team = serializers.ListField(child=VisibleTeamField(), required=False)
    category = serializers.ListField(
        child=serializers.ChoiceField(choices=category_choices()), required=False
    )
    drills = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: drills only (never counted with real incidents).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("since"), attrs.get("until")
        if since is not None and until is not None and since >= until:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


def incident_filters(query: dict[str, Any]) -> dict[str, Any]:
    """Return the validated query as the selector's keyword arguments."""
    return {
        "drills": query["drills"],
        "since": query.get("since"),
        "until": query.get("until"),
        "severities": query.get("severity", []),
        "services": [service.slug for service in query.get("service", [])],
        "teams": [team.slug for team in query.get("team", [])],
        "categories": query.get("category", []),
    }


class ResponseTimesQuerySerializer(MetricsQuerySerializer):
    group_by = serializers.ChoiceField(choices=GROUPINGS, default="severity")
    period = serializers.ChoiceField(
        choices=PERIODS,
        default="month",
        help_text="With group_by=period: the team's local day, ISO week, "
        "month or quarter.",
    )


class KpiQuerySerializer(MetricsQuerySerializer):
    kpi = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(load_kpis())), required=False
    )


class ResponseTimeRowSerializer(serializers.Serializer[Any]):
    group = serializers.CharField()
    incidents = serializers.IntegerField()
    never_acknowledged = serializers.IntegerField()
    unresolved = serializers.IntegerField()


for _measure in MEASURES:
    for _statistic in STATISTICS:
        ResponseTimeRowSerializer._declared_fields[f"{_measure.key}_{_statistic}"] = (
            serializers.IntegerField()
            if _statistic == "count"
            else serializers.FloatField(allow_null=True)
        )


class ResponseTimesSerializer(serializers.Serializer[Any]):
    group_by = serializers.CharField()
    period = serializers.CharField()
    drills = serializers.BooleanField()
    results = ResponseTimeRowSerializer(many=True)


class SlaRowSerializer(serializers.Serializer[Any]):
    severity = serializers.CharField()
    ack_target_seconds = serializers.FloatField()
    resolve_target_seconds = serializers.FloatField(allow_null=True)
    incidents = serializers.IntegerField()
    ack_breaches = serializers.IntegerField()
    resolve_breaches = serializers.IntegerField()
    ack_compliance = serializers.FloatField(allow_null=True)
    resolve_compliance = serializers.FloatField(allow_null=True)
    updates_due = serializers.IntegerField(
        help_text="Status updates due by the severity's cadence."
    )
    updates_missed = serializers.IntegerField()
    update_compliance = serializers.FloatField(
        allow_null=True, help_text="Share of the updates due posted in time."
    )


class SlaSerializer(serializers.Serializer[Any]):
    drills = serializers.BooleanField()
    results = SlaRowSerializer(many=True)


class BreachSerializer(serializers.Serializer[Any]):
    incident = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    service = serializers.CharField()
    team = serializers.CharField()
    detected_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    missed = serializers.CharField(help_text="acknowledge, resolve or both.")


class BreachPageSerializer(serializers.Serializer[Any]):
    """A page of the breach list, shaped as the other lists' pages."""

    count = serializers.IntegerField(
        help_text="Breaching incidents the filters select, over every page."
    )
    next = serializers.URLField(
        allow_null=True, help_text="The next page, with the same filters."
    )
    previous = serializers.URLField(allow_null=True)
    drills = serializers.BooleanField()
    results = BreachSerializer(many=True)


class KpiRowSerializer(serializers.Serializer[Any]):
    kpi = serializers.CharField()
    subject = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.ChoiceField(choices=["ratio", "count", "seconds"])
    sample = serializers.IntegerField()
    target = serializers.FloatField(allow_null=True)


class KpisSerializer(serializers.Serializer[Any]):
    drills = serializers.BooleanField()
    results = KpiRowSerializer(many=True)


class AvailabilityRowSerializer(serializers.Serializer[Any]):
    service = serializers.CharField()
    team = serializers.CharField()
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    incidents = serializers.IntegerField()
    downtime_seconds = serializers.FloatField()
    availability = serializers.FloatField()


class AvailabilitySerializer(serializers.Serializer[Any]):
    drills = serializers.BooleanField()
    results = AvailabilityRowSerializer(many=True)
