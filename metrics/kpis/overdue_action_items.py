"""Overdue action items: open ones past their due date."""

from __future__ import annotations

from django.utils import timezone

from incidents.metrics_selectors import ACTION_ITEM_OPEN, action_item_rows
from metrics.kpis import Context, Row, register, row

KEY = "action_items_overdue"


@register(KEY, "Open action items past their due date")
def action_items_overdue(context: Context) -> list[Row]:
    today = timezone.localdate(context.now)
    open_items = [
        item
        for item in action_item_rows(context.incidents)
        if item["status"] == ACTION_ITEM_OPEN
    ]
    overdue = sum(item["due_date"] < today for item in open_items)
    return [
        row(KEY, "overdue", overdue, unit="count", sample=len(open_items), target=0)
    ]
