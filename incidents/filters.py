"""Query-string filters of the incident list."""

from __future__ import annotations

import django_filters

from config.api import IsoDateTimeFilter
from incidents.models import Incident, SeverityLevel


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
