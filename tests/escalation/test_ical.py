"""iCal feeds: per schedule and per user, behind secret URLs, no login."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
import time_machine
from django.test import Client
from icalendar import Calendar

from escalation.selectors import schedule_shifts
from escalation.services import (
    LayerInput,
    calendar_feed_get_or_create,
    override_create,
    schedule_create,
)
from tests.escalation.conftest import at

NOW = at("2026-03-18T12:00")


def events(response) -> list:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content).walk("VEVENT")


def spans(found) -> list[tuple]:
    return [(e.decoded("dtstart"), e.decoded("dtend")) for e in found]


@pytest.fixture
def daily(team, alice, bob, carol):
    layer = LayerInput(
        name="Daily",
        start_date=date(2026, 3, 1),
        handoff_time=time(9),
        members=[alice, bob, carol],
        shift_unit="days",
    )
    return schedule_create(
        team=team, name="Daily", time_zone="Europe/Berlin", layers=[layer]
    )


def test_the_schedule_feed_has_the_schedules_shifts_from_last_week_to_90_days(
    client: Client, schedule, bob
):
    override_create(
        schedule=schedule,
        user=bob,
        start=at("2026-03-20T10:00"),
        end=at("2026-03-20T12:00"),
        reason="cover",
    )
    with time_machine.travel(NOW, tick=False):
        found = events(client.get(f"/ical/schedules/{schedule.ical_token}.ics"))
    expected = [
        shift
        for shift in schedule_shifts(
            schedule=schedule, start=NOW - timedelta(days=7), count=100
        )
        if shift.start < NOW + timedelta(days=90)
    ]
    assert len(expected) > 10
    assert spans(found) == [(s.start, s.end) for s in expected]
    assert found[0].decoded("dtstart") == at("2026-03-09T09:00")  # its real start
    override = next(e for e in found if "Override" in str(e.get("description")))
    assert str(override.get("summary")) == "On call: Bob (Primary)"
    assert str(override.get("description")) == "Override: cover"
    assert str(found[0].get("description")) == "Layer: Weekly"


def test_uids_are_unique_and_stable_between_fetches(client: Client, daily, bob):
    url = f"/ical/schedules/{daily.ical_token}.ics"
    with time_machine.travel(NOW, tick=False):
        first = [str(e["uid"]) for e in events(client.get(url))]
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        second = [str(e["uid"]) for e in events(client.get(url))]
    assert len(set(first)) == len(first) == 98
    assert first == second
    # 11 March is the rotation's 11th day: bob's turn, since 09:00 (08:00 UTC).
    assert first[0] == f"{daily.pk}-{bob.pk}-20260311T080000Z@vigil"


def test_the_user_feed_has_only_their_shifts_across_schedules(
    client: Client, schedule, daily, alice
):
    feed = calendar_feed_get_or_create(user=alice)
    with time_machine.travel(NOW, tick=False):
        found = events(client.get(f"/ical/users/{feed.token}.ics"))
    theirs = sorted(
        (shift.start, shift.end)
        for s in (schedule, daily)
        for shift in schedule_shifts(
            schedule=s, start=NOW - timedelta(days=7), count=200
        )
        if shift.user_id == alice.pk and shift.start < NOW + timedelta(days=90)
    )
    assert sorted(spans(found)) == theirs
    assert [e.decoded("dtstart") for e in found] == sorted(s for s, _ in theirs)
    assert {str(e["summary"]) for e in found} == {
        "On call: Alice (Primary)",
        "On call: Alice (Daily)",
    }


@pytest.mark.parametrize("kind", ["schedules", "users"])
def test_an_unknown_token_is_404(client: Client, db, kind):
    assert client.get(f"/ical/{kind}/not-a-token.ics").status_code == 404


def test_the_feed_answers_only_reads(client: Client, schedule):
    url = f"/ical/schedules/{schedule.ical_token}.ics"
    assert client.post(url).status_code == 405
    assert client.head(url).status_code == 200
