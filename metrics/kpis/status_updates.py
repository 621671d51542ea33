"""Status-update cadence: the share of updates due that were posted in time."""

from __future__ import annotations

from metrics.kpis import Context, Row, ratio, register, row

KEY = "status_update_cadence"


@register(KEY, "Status updates posted on the severity's cadence")
def cadence_kept(context: Context) -> list[Row]:
    tally = context.update_cadence()
    return [
        row(
            KEY,
            severity,
            ratio(due - missed, due),
            unit="ratio",
            sample=due,
            target=1.0,
        )
        for severity, (due, missed) in sorted(tally.items())
    ]
