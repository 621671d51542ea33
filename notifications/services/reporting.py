"""Telling the apps above what was sent and what failed (`deliveries_finished`).

A batch tells of its deliveries once, when it ends: one timeline entry per
message rather than one per destination. The rows are marked as told by the
same transaction that tells, so each delivery is told exactly once: by its
batch, or, if its worker died first (or telling failed), by the recovery
sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Count

from notifications.models import Delivery
from notifications.services.rows import LOADED_WITH, mark_reported
from notifications.signals import deliveries_finished

logger = logging.getLogger(__name__)

S = Delivery.Status


def deliveries_report(*, deliveries: list[Delivery], bundled: dict[int, int]) -> int:
    """Tell of the finished deliveries not told of yet; return how many.

    `bundled` counts the rows bundled into each (by delivery id).
    """
    if not deliveries:
        return 0
    try:
        with transaction.atomic():
            told = mark_reported([d.pk for d in deliveries])
            mine = [d for d in deliveries if d.pk in told]
            if mine:
                deliveries_finished.send(
                    Delivery,
                    deliveries=mine,
                    bundled={pk: n for pk, n in bundled.items() if pk in told},
                )
    except Exception:  # they are sent: the recovery sweep tells of them later
        logger.exception("could not report %d finished deliveries", len(deliveries))
        return 0
    return len(mine)


def deliveries_report_left_behind(
    *, finished_before: datetime, limit: int = 1000
) -> int:
    """Tell of deliveries that finished before then and were never told of.

    Their batch died (or failed to tell) before its end. A live batch tells
    of a delivery within half the lease (and one send) of finishing it, so
    `finished_before` is a lease ago.
    """
    left = Delivery.objects.filter(
        report_due=True,
        status__in=[S.SENT, S.FAILED],
        finished_at__lt=finished_before,
    )
    rows = list(left.select_related(*LOADED_WITH).order_by("finished_at")[:limit])
    if not rows:
        return 0
    counts = (
        Delivery.objects.filter(bundled_into__in=rows)
        .order_by()
        .values("bundled_into")
        .annotate(n=Count("pk"))
        .values_list("bundled_into", "n")
    )
    told = deliveries_report(
        deliveries=rows, bundled={pk: n for pk, n in counts if pk is not None}
    )
    logger.warning("reported %d deliveries a dead worker left unreported", told)
    return told
