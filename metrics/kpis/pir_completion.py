"""PIR completion: the share of required reviews that were published."""

from __future__ import annotations

from collections import defaultdict

from incidents.metrics_selectors import REVIEW_PUBLISHED, REVIEW_WAIVED, review_rows
from metrics.kpis import Context, Row, ratio, register, row

KEY = "pir_completion"


@register(KEY, "Post-incident reviews published (of those not waived)")
def pir_completion(context: Context) -> list[Row]:
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # published, due
    for review in review_rows(context.incidents):
        if review["state"] == REVIEW_WAIVED:
            continue
        tally[review["severity"]][0] += review["state"] == REVIEW_PUBLISHED
        tally[review["severity"]][1] += 1
    return [
        row(
            KEY,
            severity,
            ratio(published, due),
            unit="ratio",
            sample=due,
            target=1.0 if context.targets[severity]["pir_required"] else None,
        )
        for severity, (published, due) in sorted(tally.items())
    ]
