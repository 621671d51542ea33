"""Reads of the delivery log for the metrics app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Min, QuerySet

from notifications.models import Delivery


def delivery_outcomes(*, incidents: QuerySet[Any]) -> list[dict[str, Any]]:
    """Return the deliveries about `incidents` counted by kind (email, SMS,
    Slack, …) and status."""
    return list(
        Delivery.objects.filter(incident__in=incidents.values("pk"))
        .values("kind", "status")
        .annotate(count=Count("id"))
        .order_by("kind", "status")
    )


def delivery_backlog() -> dict[str, Any]:
    """Return the deliveries waiting to go out and those that failed, across
    every team, and when the oldest waiting one fell due."""
    counts = dict(
        Delivery.objects.filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.FAILED]
        )
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    oldest: datetime | None = Delivery.objects.filter(
        status=Delivery.Status.PENDING
    ).aggregate(oldest=Min("due_at"))["oldest"]
    return {
        "pending": counts.get(Delivery.Status.PENDING, 0),
        "failed": counts.get(Delivery.Status.FAILED, 0),
        "oldest_pending_due_at": oldest,
    }


def page_totals() -> list[dict[str, Any]]:
    """Return every page ever written, counted by kind and status."""
    return list(
        Delivery.objects.filter(purpose=Delivery.Purpose.PAGE)
        .values("kind", "status")
        .annotate(count=Count("id"))
        .order_by()
    )
