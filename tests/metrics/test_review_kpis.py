"""The post-incident review KPIs and the status-update cadence in the SLA view."""

from __future__ import annotations

from datetime import date, timedelta

import time_machine

from incidents.models import ActionItem, PostIncidentReview, StatusUpdate
from tests.metrics.conftest import T0, worked

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
State = PostIncidentReview.State


def kpi(api, key):
    with time_machine.travel(T0 + 30 * DAY, tick=False):
        response = api.get("/api/v1/metrics/kpis/", {"kpi": key})
    assert response.status_code == 200, response.content
    return [
        (row["subject"], row["value"], row["sample"], row["target"])
        for row in response.json()["results"]
    ]


def reviewed(service, severity, state, published_after=None):
    """A resolved incident whose review (the severity's rule opened it) is in
    `state`, published `published_after` its resolution."""
    incident = worked(service, severity, ack=HOUR, resolve=2 * HOUR)
    published = None if published_after is None else T0 + 2 * HOUR + published_after
    PostIncidentReview.objects.filter(incident=incident).update(
        state=state, published_at=published
    )
    return incident


def test_pir_completion_counts_published_reviews_of_those_not_waived(api, service):
    reviewed(service, "P1", State.PUBLISHED, published_after=3 * DAY)
    reviewed(service, "P1", State.DRAFTING)
    reviewed(service, "P1", State.WAIVED)
    reviewed(service, "P0", State.PUBLISHED, published_after=DAY)

    assert kpi(api, "pir_completion") == [("P0", 1.0, 1, 1.0), ("P1", 0.5, 2, 1.0)]


def test_time_to_pir_is_the_mean_wait_from_resolution_to_publication(api, service):
    reviewed(service, "P1", State.PUBLISHED, published_after=2 * DAY)
    reviewed(service, "P1", State.PUBLISHED, published_after=10 * DAY)
    reviewed(service, "P1", State.MEETING_HELD)

    assert kpi(api, "time_to_pir") == [
        ("P1", (6 * DAY).total_seconds(), 2, (7 * DAY).total_seconds())
    ]


def test_action_item_completion_leaves_out_the_wont_do_ones(api, service, responder):
    incident = reviewed(service, "P1", State.PUBLISHED, published_after=DAY)
    for status in ("done", "done", "open", "wont_do"):
        ActionItem.objects.create(
            incident=incident,
            title=status,
            owner=responder,
            due_date=date(2026, 4, 1),
            status=status,
        )

    assert kpi(api, "action_item_completion") == [("all", 2 / 3, 3, 1.0)]


def test_open_action_items_past_their_due_date_are_overdue(api, service, responder):
    incident = reviewed(service, "P1", State.PUBLISHED, published_after=DAY)
    today = (T0 + 30 * DAY).date()
    for due, status in (
        (today - DAY, "open"),
        (today, "open"),
        (today - 2 * DAY, "done"),
    ):
        ActionItem.objects.create(
            incident=incident, title="Fix", owner=responder, due_date=due, status=status
        )

    assert kpi(api, "action_items_overdue") == [("overdue", 1, 2, 0)]


def test_the_sla_view_counts_status_updates_kept_and_missed(api, service):
    # P1 wants an update every 2 h; resolved after 5 h: due at 2 h (kept at
    # 1 h 40), then at 3 h 40 (missed); 5 h 40 is after the resolve.
    incident = worked(service, "P1", ack=HOUR, resolve=5 * HOUR)
    StatusUpdate.objects.create(
        incident=incident,
        status="acknowledged",
        text="Looking",
        posted_at=T0 + 100 * timedelta(minutes=1),
    )

    with time_machine.travel(T0 + DAY, tick=False):
        response = api.get("/api/v1/metrics/sla/")

    p1 = {row["severity"]: row for row in response.json()["results"]}["P1"]
    assert (p1["updates_due"], p1["updates_missed"], p1["update_compliance"]) == (
        2,
        1,
        0.5,
    )
