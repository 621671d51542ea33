"""Notification delivery success by kind: sent out of sent and failed."""

from __future__ import annotations

from collections import defaultdict

from metrics.kpis import Context, Row, ratio, register, row
from notifications.metrics_selectors import delivery_outcomes

KEY = "delivery_success"


@register(KEY, "Notification delivery success by kind")
def delivery_success(context: Context) -> list[Row]:
    finished: dict[str, dict[str, int]] = defaultdict(lambda: {"sent": 0, "failed": 0})
    for outcome in delivery_outcomes(incidents=context.incidents):
        if outcome["status"] in ("sent", "failed"):
            finished[outcome["kind"]][outcome["status"]] += outcome["count"]
    rows = []
    for kind, count in sorted(finished.items()):
        total = count["sent"] + count["failed"]
        rows.append(
            row(KEY, kind, ratio(count["sent"], total), unit="ratio", sample=total)
        )
    return rows
