"""Query-string filters of the incident, alert and received-event lists."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from config.api import IsoDateTimeFilter
from incidents.models import Alert, AlertEvent, Incident, Integration, SeverityLevel
from incidents.selectors import integration_list


class IncidentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Incident.Status.choices)
    severity = django_filters.ModelMultipleChoiceFilter(
        queryset=SeverityLevel.objects.all(), to_field_name="code"
    )
    service = django_filters.CharFilter(field_name="service__slug")
    team = django_filters.CharFilter(field_name="service__team__slug")
    # Strict true/false: django-filter's BooleanFilter ignores other values,
    # so `?is_drill=yes` would silently list drills and real incidents alike.
    is_drill = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
    )
    detected_after = IsoDateTimeFilter(field_name="detected_at", lookup_expr="gte")
    detected_before = IsoDateTimeFilter(field_name="detected_at", lookup_expr="lt")

    class Meta:
        model = Incident
        fields = ["status", "severity", "service", "team", "is_drill"]


def _callers_integrations(request: Any) -> QuerySet[Integration]:
    # Another team's integration is refused as an unknown id is, never
    # answered with an empty page that tells the id exists.
    if request is None:
        return Integration.objects.none()
    return integration_list(user=request.user)


class AlertFilter(django_filters.FilterSet):
    integration = django_filters.ModelChoiceFilter(
        queryset=_callers_integrations  # type: ignore[arg-type]
    )

    class Meta:
        model = Alert
        fields = [
            "status",
            "source",
            "integration",
            "service__slug",
            "incident__public_id",
        ]


class AlertEventFilter(django_filters.FilterSet):
    integration = django_filters.ModelChoiceFilter(
        queryset=_callers_integrations  # type: ignore[arg-type]
    )
    status = django_filters.ChoiceFilter(
        choices=AlertEvent.Status.choices, method="filter_status"
    )

    class Meta:
        model = AlertEvent
        fields = ["source", "integration", "incident__public_id", "dedup_key"]

    def filter_status(
        self, events: QuerySet[AlertEvent], name: str, value: str
    ) -> QuerySet[AlertEvent]:
        return events.filter(AlertEvent.with_status(value))
