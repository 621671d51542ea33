"""Reads of escalation state for the metrics app."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Max, Min, Q, QuerySet

from escalation.models import Escalation, EscalationStep


def escalation_highest_levels(*, incidents: QuerySet[Any]) -> dict[int, int]:
    """Return how many of the incidents' escalations stopped at each level:
    {highest level paged: escalations}; 0 for those that paged no level."""
    highest = (
        Escalation.objects.filter(incident__in=incidents.values("pk"))
        .annotate(
            top=Max(
                "steps__level",
                filter=Q(
                    steps__outcome=EscalationStep.Outcome.PAGED,
                    steps__level__isnull=False,
                ),
            )
        )
        .values_list("top", flat=True)
        .order_by()
    )
    return dict(Counter(top or 0 for top in highest))


def oldest_overdue_step_due_at(*, now: datetime) -> datetime | None:
    """Return when the longest-overdue active escalation's next step fell due."""
    return Escalation.objects.filter(
        state=Escalation.State.ACTIVE, due_at__lt=now
    ).aggregate(oldest=Min("due_at"))["oldest"]
