"""Action-item completion: the share of the reviews' action items done."""

from __future__ import annotations

from incidents.metrics_selectors import (
    ACTION_ITEM_DONE,
    ACTION_ITEM_WONT_DO,
    action_item_rows,
)
from metrics.kpis import Context, Row, ratio, register, row

KEY = "action_item_completion"


@register(KEY, "Action items done (of those not dropped as won't do)")
def action_item_completion(context: Context) -> list[Row]:
    items = [
        item
        for item in action_item_rows(context.incidents)
        if item["status"] != ACTION_ITEM_WONT_DO
    ]
    done = sum(item["status"] == ACTION_ITEM_DONE for item in items)
    return [
        row(
            KEY,
            "all",
            ratio(done, len(items)),
            unit="ratio",
            sample=len(items),
            target=1.0,
        )
    ]
