"""The protocol's "After Incident" checklist, kept on the review.

Items the review's own records prove (the initial report is published, the
meeting is scheduled, …) tick themselves on every read and cannot be ticked
by hand; the others (documentation updated, monitoring adjusted, …) are
ticked by hand, with who and when.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from incidents.models import PostIncidentReview

Proof = Callable[[PostIncidentReview], datetime | None]


def _first_action_item(review: PostIncidentReview) -> datetime | None:
    first = review.incident.action_items.order_by("created_at").first()
    return first.created_at if first is not None else None


@dataclass(frozen=True)
class AfterItem:
    key: str
    label: str
    proof: Proof | None = None


ITEMS: tuple[AfterItem, ...] = (
    AfterItem(
        "initial_report", "Initial incident report (24 hours)",
        lambda r: r.initial_published_at,
    ),
    AfterItem(
        "meeting_scheduled", "PIR meeting scheduled (within 1 week)",
        lambda r: r.meeting_at or r.meeting_held_at,
    ),
    AfterItem("pir_conducted", "PIR conducted", lambda r: r.meeting_held_at),
    AfterItem("report_published", "PIR report published", lambda r: r.published_at),
    AfterItem(
        "action_items_assigned", "Action items created and assigned",
        _first_action_item,
    ),
    AfterItem("documentation_updated", "Documentation updated"),
    AfterItem("runbooks_updated", "Runbooks updated"),
    AfterItem("monitoring_adjusted", "Monitoring/alerts adjusted"),
    AfterItem("learnings_shared", "Team learnings shared"),
    AfterItem("prevention_implemented", "Prevention measures implemented"),
)  # fmt: skip
ITEM_KEYS = tuple(item.key for item in ITEMS)
HAND_TICKED = tuple(item.key for item in ITEMS if item.proof is None)


def review_checklist(*, review: PostIncidentReview) -> list[dict[str, Any]]:
    """Return each item with whether it is done, when, and how it is known."""
    states = []
    for item in ITEMS:
        if item.proof is not None:
            at = item.proof(review)
            states.append(
                {
                    "key": item.key,
                    "label": item.label,
                    "done": at is not None,
                    "at": at,
                    "by": None,
                    "proved": True,
                }
            )
            continue
        tick = review.checklist_ticks.get(item.key)
        states.append(
            {
                "key": item.key,
                "label": item.label,
                "done": tick is not None,
                "at": datetime.fromisoformat(tick["at"]) if tick else None,
                "by": tick["by"] if tick else None,
                "proved": False,
            }
        )
    return states
