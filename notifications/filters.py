"""Query-string filters of the delivery log."""

from __future__ import annotations

import django_filters

from config.api import IsoDateTimeFilter
from notifications.models import Delivery, Kind


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Delivery.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=Kind.choices)
    purpose = django_filters.MultipleChoiceFilter(choices=Delivery.Purpose.choices)
    incident = django_filters.CharFilter(field_name="incident__public_id")
    user = django_filters.CharFilter(field_name="user__username")
    created_after = IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Delivery
        fields = ["status", "kind", "purpose", "incident", "user"]
