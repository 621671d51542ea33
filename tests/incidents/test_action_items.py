"""Action items: owners, due dates, statuses, the API filters and the daily
digest of overdue items."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from incidents.exceptions import ReviewError
from incidents.models import ActionItem, ActionItemDigest, Incident
from incidents.services import incident_transition
from incidents.services.action_items import (
    action_item_create,
    action_item_digests_send,
)
from incidents.timeline_kinds import ACTION_ITEM_ADDED
from notifications.models import Delivery
from tests.concurrency import in_threads
from tests.conftest import api_client
from tests.factories import ContactMethodFactory, MembershipFactory, declare, verify

TODAY = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
URL = "/api/v1/action-items/"


@pytest.fixture
def owner(responder: User) -> User:
    ContactMethodFactory(user=responder, address="responder@example.com")
    return responder


def item(
    incident: Incident, owner: User, due: date, title: str = "Fix it"
) -> ActionItem:
    return action_item_create(
        incident=incident, title=title, owner=owner, due_date=due, by=owner
    )


def test_an_item_is_created_during_the_incident_through_the_api(incident, owner):
    response = api_client(owner).post(
        URL,
        {
            "incident": incident.public_id,
            "title": "Add a lock timeout",
            "owner": "responder",
            "due_date": "2026-12-01",
            "priority": "high",
            "ticket_url": "https://tracker.example.com/OPS-1",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["incident"]) == (
        "open",
        "high",
        incident.public_id,
    )
    assert incident.timeline.filter(kind=ACTION_ITEM_ADDED).exists()


def test_wont_do_needs_a_reason_and_done_is_tracked_on_the_review(service, owner):
    incident = declare(service, "P1")
    verify(incident)
    incident_transition(incident=incident, to=Incident.Status.RESOLVED, by=owner)
    first = item(incident, owner, date(2026, 12, 1))
    second = item(incident, owner, date(2026, 12, 2), "Another")
    api = api_client(owner)

    refused = api.patch(f"{URL}{first.pk}/", {"status": "wont_do"}, format="json")
    done = api.patch(f"{URL}{first.pk}/", {"status": "done"}, format="json")
    wont = api.patch(
        f"{URL}{second.pk}/",
        {"status": "wont_do", "wont_do_reason": "Superseded"},
        format="json",
    )
    review = api.get(f"/api/v1/incidents/{incident.public_id}/review/").json()

    assert refused.status_code == 400
    assert done.json()["status"] == "done"
    assert wont.json()["wont_do_reason"] == "Superseded"
    assert review["action_items"] == {"open": 0, "done": 1, "wont_do": 1}
    after = {i["key"]: i["done"] for i in review["after_incident"]}
    assert after["action_items_assigned"] is True


def test_owner_me_and_overdue_filter_the_list(incident, owner, service):
    other = MembershipFactory(team=service.team, user__username="other").user
    with time_machine.travel(TODAY, tick=False):
        late = item(incident, owner, date(2026, 11, 20), "Late")
        item(incident, owner, date(2026, 11, 30), "Not yet")
        item(incident, other, date(2026, 11, 1), "Someone else's")
        done = item(incident, owner, date(2026, 11, 1), "Done late")
        ActionItem.objects.filter(pk=done.pk).update(status="done")

        mine = api_client(owner).get(URL, {"owner": "me", "overdue": "1"})
        everything = api_client(owner).get(URL)

    assert [i["title"] for i in mine.json()["results"]] == ["Late"]
    assert mine.json()["results"][0]["overdue"] is True
    assert mine.json()["results"][0]["id"] == late.pk
    assert everything.json()["count"] == 4


@pytest.mark.parametrize(
    "query", [{"overdue": "maybe"}, {"status": "later"}, {"page": "0"}]
)
def test_bad_filters_are_a_400(owner, query):
    assert api_client(owner).get(URL, query).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"incident": "INC-0", "title": "x", "owner": "responder", "due_date": "2026"},
        {"incident": 5, "title": "", "owner": None, "due_date": "tomorrow"},
        {"title": "x" * 300},
        ["x"],
    ],
)
def test_garbage_items_are_refused_and_nothing_is_written(incident, owner, body):
    response = api_client(owner).post(URL, body, format="json")

    assert response.status_code == 400
    assert not ActionItem.objects.exists()


def test_an_owner_outside_the_team_is_refused(incident, owner, service):
    stranger = MembershipFactory(user__username="stranger").user

    with pytest.raises(ReviewError, match="not an active member"):
        item(incident, stranger, date(2026, 12, 1))


def test_one_digest_a_day_lists_every_overdue_item_of_the_owner(incident, owner):
    with time_machine.travel(TODAY - timedelta(days=10), tick=False):
        item(incident, owner, date(2026, 11, 20), "Late one")
        item(incident, owner, date(2026, 11, 22), "Late two")
        item(incident, owner, date(2026, 12, 20), "Not due")

    with time_machine.travel(TODAY, tick=False):
        first = action_item_digests_send()
        again = action_item_digests_send()
    with time_machine.travel(TODAY + timedelta(days=1), tick=False):
        next_day = action_item_digests_send()

    assert (first, again, next_day) == (1, 0, 1)
    digests = Delivery.objects.filter(purpose="follow_up").order_by("id")
    text = digests[0].extra["notice"]["text"]
    assert digests[0].extra["notice"]["subject"] == "2 overdue action items"
    assert "Late one" in text
    assert "Late two" in text
    assert "Not due" not in text
    assert digests.count() == 2


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_digest_sweeps_send_one_digest(incident, owner):
    with time_machine.travel(TODAY - timedelta(days=10), tick=False):
        item(incident, owner, date(2026, 11, 20), "Late one")

    def sweep(n: int) -> None:
        with time_machine.travel(TODAY, tick=False):
            action_item_digests_send()

    assert in_threads(4, sweep) == []
    assert ActionItemDigest.objects.count() == 1
    assert Delivery.objects.filter(purpose="follow_up").count() == 1
