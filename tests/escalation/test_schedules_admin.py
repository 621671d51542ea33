"""The schedules admin: who is on call now, the next shifts, changes via services."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.test import Client

from escalation.models import EscalationPolicy, Layer, Override, Schedule
from escalation.services import (
    LayerInput,
    layer_update,
    override_create,
    schedule_create,
)
from incidents.exceptions import IncidentError
from incidents.models import Team, TeamMembership
from incidents.services import team_remove_member
from notifications.services import contact_test_round_start
from tests.escalation.conftest import add_level, at, member, user_target
from tests.factories import ContactMethodFactory, MembershipFactory, TeamFactory

ADMIN = "/admin/escalation/"
NOW = at("2026-03-11T12:00")


@pytest.fixture
def browser(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def staff_responder(responder) -> Client:
    """The responder as staff, allowed to see and change schedules."""
    User.objects.filter(pk=responder.pk).update(is_staff=True)
    responder.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="escalation")
    )
    client = Client()
    client.force_login(responder)
    return client


def page(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": len(rows),
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def test_the_changelist_shows_who_is_on_call_now(browser, schedule):
    with time_machine.travel(NOW, tick=False):
        text = page(browser.get(f"{ADMIN}schedule/"))
    assert "On call now" in text
    assert '<td class="field-oncall_now">Bob</td>' in text


def test_the_oncall_page_shows_the_on_call_persons_unconfirmed_methods(
    browser, schedule, alice, bob
):
    for user in (alice, bob):
        ContactMethodFactory(user=user, kind="sms", address=f"+1415555010{user.pk}")
    with time_machine.travel(at("2026-03-10T09:30"), tick=False):
        contact_test_round_start()
    with time_machine.travel(NOW, tick=False):
        text = page(browser.get(f"{ADMIN}schedule/oncall/"))

    (listed,) = re.findall(r'<ul class="unconfirmed-methods">(.*?)</ul>', text)
    assert "Bob: SMS (Twilio) +1415555010" in listed
    assert "unconfirmed since" in listed
    assert "2026-03-10T08:30:00+00:00" in listed
    assert "Alice" not in listed  # not on call now


def test_a_gap_shows_as_nobody(browser, team):
    schedule_create(team=team, name="Empty", time_zone="UTC")
    text = page(browser.get(f"{ADMIN}schedule/"))
    assert "nobody (a gap)" in text


def test_the_change_page_lists_the_next_shifts_in_local_time(browser, schedule):
    with time_machine.travel(NOW, tick=False):
        text = page(browser.get(f"{ADMIN}schedule/{schedule.pk}/change/"))
    assert (
        "<td>Mon 2026-03-09 09:00 CET</td><td>Mon 2026-03-16 09:00 CET</td>"
        "<td>Bob</td><td>layer: Weekly</td>" in text
    )
    assert "<td>Mon 2026-03-23 09:00 CET</td><td>Mon 2026-03-30 09:00 CEST</td>" in text
    assert text.count("layer: Weekly") == 10
    assert f"/ical/schedules/{schedule.ical_token}.ics" in text
    assert "alice → bob" in text  # the layer's turns


def test_a_schedule_and_its_layers_are_added_through_the_services(browser, team):
    data = {
        "name": "Night watch",
        "team": team.pk,
        "time_zone": "Asia/Tokyo",
        "description": "",
        **inline(
            "layers",
            [
                {
                    "position": 1,
                    "name": "Nights",
                    "start_date": "2026-03-02",
                    "handoff_time": "20:00",
                    "shift_count": 1,
                    "shift_unit": "days",
                }
            ],
        ),
    }
    response = browser.post(f"{ADMIN}schedule/add/", data, follow=True)
    assert "was added successfully" in page(response)
    schedule = Schedule.objects.get(name="Night watch")
    assert schedule.time_zone == "Asia/Tokyo"
    layer = schedule.layers.get()
    assert (layer.name, layer.shift_unit, layer.members.count()) == (
        "Nights",
        "days",
        0,
    )


def test_an_unknown_time_zone_is_refused_by_the_form(browser, team):
    data = {
        "name": "X",
        "team": team.pk,
        "time_zone": "Nowhere/Land",
        "description": "",
        **inline("layers", []),
    }
    response = browser.post(f"{ADMIN}schedule/add/", data)
    assert "is not an IANA time zone" in page(response)
    assert not Schedule.objects.exists()


def layer_form(layer: Layer, members: list[dict], restrictions: list[dict]) -> dict:
    return {
        "name": layer.name,
        "position": layer.position,
        "start_date": layer.start_date.isoformat(),
        "handoff_time": "09:00",
        "shift_count": layer.shift_count,
        "shift_unit": layer.shift_unit,
        **inline("members", members),
        **inline("restrictions", restrictions),
    }


def test_the_layer_page_sets_members_in_order_and_restrictions(
    browser, schedule, alice, bob, carol
):
    layer = schedule.layers.get()
    layer.members.all().delete()
    members = [
        {"position": 2, "user": alice.pk},
        {"position": 1, "user": carol.pk},
        {"position": 3, "user": alice.pk},
    ]
    office = [
        {"start_day": 0, "start_time": "09:00", "end_day": 4, "end_time": "17:00"}
    ]
    url = f"{ADMIN}layer/{layer.pk}/change/"
    response = browser.post(url, layer_form(layer, members, office), follow=True)
    assert "was changed successfully" in page(response)
    assert [m.user for m in layer.members.all()] == [carol, alice, alice]
    assert str(layer.restrictions.get()) == "Monday 09:00 → Friday 17:00"


def test_only_active_team_members_can_be_picked_for_a_layer(
    browser, schedule, outsider
):
    layer = schedule.layers.get()
    text = page(browser.get(f"{ADMIN}layer/{layer.pk}/change/"))
    assert ">alice<" in text
    assert ">outsider<" not in text
    members = [{"position": 1, "user": outsider.pk}]
    response = browser.post(
        f"{ADMIN}layer/{layer.pk}/change/", layer_form(layer, members, [])
    )
    assert "Select a valid choice" in page(response)
    assert [m.user.username for m in layer.members.all()] == ["alice", "bob"]


def override_form(schedule: Schedule, user: User, **fields: object) -> dict:
    return {
        "schedule": schedule.pk,
        "user": user.pk,
        "covered_user": "",
        "start_0": "2026-03-12",
        "start_1": "09:00:00",
        "end_0": "2026-03-12",
        "end_1": "18:00:00",
        "reason": "",
        **fields,
    }


def test_an_override_is_added_through_the_service(browser, schedule, carol):
    response = browser.post(
        f"{ADMIN}override/add/",
        override_form(schedule, carol, reason="conference"),
        follow=True,
    )
    assert "was added successfully" in page(response)
    override = Override.objects.get()
    assert (override.user, override.reason, override.created_by.username) == (
        carol,
        "conference",
        "boss",
    )


def test_a_bad_override_shows_the_error_and_stores_nothing(browser, schedule, carol):
    response = browser.post(
        f"{ADMIN}override/add/", override_form(schedule, carol, end_1="08:00:00")
    )
    assert "the end comes after the start" in page(response)
    assert not Override.objects.exists()


def test_a_responder_sees_only_their_teams_schedules(
    staff_responder, schedule, outsider
):
    theirs = schedule_create(
        team=Team.objects.get(slug="bots"), name="Bots rota", time_zone="UTC"
    )
    text = page(staff_responder.get(f"{ADMIN}schedule/"))
    assert "Primary" in text
    assert "Bots rota" not in text
    other = staff_responder.get(f"{ADMIN}schedule/{theirs.pk}/change/", follow=True)
    assert "Bots rota" not in other.content.decode()


def test_deleting_a_schedule_in_the_admin_removes_it(browser, schedule):
    response = browser.post(
        f"{ADMIN}schedule/{schedule.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "was deleted successfully" in page(response)
    assert not Schedule.objects.exists()


def team_form(team: Team, rows: list[dict]) -> dict:
    """The team's change form, its memberships as `rows` (all existing ones)."""
    return {"name": team.name, "slug": team.slug, "time_zone": team.time_zone} | inline(
        "memberships", rows, initial=len(rows)
    )


def membership_row(membership: TeamMembership, **changes: object) -> dict:
    return {
        "id": membership.pk,
        "team": membership.team_id,
        "user": membership.user_id,
        "role": membership.role,
    } | changes


def test_a_member_still_on_call_is_not_removed_from_the_team(
    browser, team, schedule, alice, bob
):
    """Gone from the team, alice would still be paged for it: her turns in
    its rotations, her overrides and its policies' targets name her."""
    policy = EscalationPolicy.objects.create(name="Default", team=team)
    add_level(policy, 1, "On call", user_target(alice))
    override_create(
        schedule=schedule, user=alice, start=NOW, end=NOW + timedelta(days=1)
    )
    override_create(  # over: it pages nobody any more
        schedule=schedule, user=alice, start=NOW - timedelta(days=2), end=NOW
    )
    hers, his = (TeamMembership.objects.get(user=u) for u in (alice, bob))
    url = f"/admin/incidents/team/{team.pk}/change/"
    with time_machine.travel(NOW, tick=False):
        text = page(
            browser.post(
                url,
                team_form(
                    team, [membership_row(hers, DELETE="on"), membership_row(his)]
                ),
            )
        )
    assert (
        "alice is still on call for Platform: a turn in schedule Primary, layer "
        "Weekly; an override in schedule Primary, until 2026-03-12 11:00 UTC; a "
        "target of policy Default, level 1. Take them out of these first." in text
    )
    assert "bob is still" not in text
    assert TeamMembership.objects.filter(team=team, user=alice).exists()

    # Giving her row to someone else removes her just the same.
    carol = member(TeamFactory(slug="other"), "carol")
    with time_machine.travel(NOW, tick=False):
        text = page(
            browser.post(
                url,
                team_form(
                    team, [membership_row(hers, user=carol.pk), membership_row(his)]
                ),
            )
        )
    assert "alice is still on call for Platform" in text
    assert TeamMembership.objects.get(pk=hers.pk).user == alice


def test_a_member_with_no_duties_left_is_removed(browser, team, schedule, alice, bob):
    layer = schedule.layers.get()
    layer_update(layer=layer, members=[bob])
    # Her turns in another team's schedule are that team's business.
    other = TeamFactory(slug="other")
    MembershipFactory(team=other, user=alice)
    schedule_create(
        team=other,
        name="Theirs",
        time_zone="UTC",
        layers=[
            LayerInput(
                name="Daily",
                start_date=date(2026, 3, 2),
                handoff_time=time(9),
                members=[alice],
                shift_count=1,
                shift_unit="days",
            )
        ],
    )
    hers, his = (TeamMembership.objects.get(team=team, user=u) for u in (alice, bob))
    response = browser.post(
        f"/admin/incidents/team/{team.pk}/change/",
        team_form(team, [membership_row(hers, DELETE="on"), membership_row(his)]),
    )
    assert response.status_code == 302
    assert list(team.memberships.values_list("user__username", flat=True)) == ["bob"]


def test_the_service_refuses_to_remove_a_member_still_on_call(team, schedule, alice):
    with pytest.raises(IncidentError, match="alice is still on call for Platform"):
        team_remove_member(team=team, user=alice)
    assert TeamMembership.objects.filter(team=team, user=alice).exists()
