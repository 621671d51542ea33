"""The schedules REST API: schedules with layers, who is on call, shifts, overrides."""

from __future__ import annotations

from unittest import mock

import pytest
import time_machine
from django.db.models import ProtectedError

from escalation.models import Layer, LayerMember, Override, Schedule
from escalation.selectors import schedule_oncall
from tests.conftest import api_client
from tests.escalation.conftest import at, member
from tests.factories import TeamFactory

URL = "/api/v1/schedules/"
WEEKLY = {
    "name": "Weekly",
    "start_date": "2026-03-02",
    "handoff_time": "09:00",
    "shift_count": 1,
    "shift_unit": "weeks",
    "members": ["alice", "bob", "alice"],
}
OFFICE = {
    "name": "Office hours",
    "start_date": "2026-03-02",
    "handoff_time": "09:00",
    "shift_unit": "days",
    "members": ["carol"],
    "restrictions": [
        {"start_day": d, "start_time": "09:00", "end_day": d, "end_time": "17:00"}
        for d in range(5)
    ],
}


def detail(schedule: Schedule | int, action: str = "") -> str:
    pk = schedule if isinstance(schedule, int) else schedule.pk
    return f"{URL}{pk}/{action + '/' if action else ''}"


def create(api, **fields: object):
    body = {
        "name": "Primary",
        "team": "platform",
        "time_zone": "Europe/Berlin",
        "layers": [WEEKLY, OFFICE],
        **fields,
    }
    return api.post(URL, body)


@pytest.fixture
def created(api, alice, bob, carol) -> dict:
    response = create(api)
    assert response.status_code == 201, response.content
    return response.json()


# --- Schedules ------------------------------------------------------------------------


def test_a_schedule_is_created_with_its_layers_members_and_restrictions(created):
    schedule = Schedule.objects.get(pk=created["id"])
    assert (created["name"], created["team"], created["time_zone"]) == (
        "Primary",
        "platform",
        "Europe/Berlin",
    )
    weekly, office = created["layers"]
    assert (weekly["position"], office["position"]) == (1, 2)
    assert [m["username"] for m in weekly["members"]] == ["alice", "bob", "alice"]
    assert office["restrictions"][0] == {
        "start_day": 0,
        "start_time": "09:00:00",
        "end_day": 0,
        "end_time": "17:00:00",
    }
    assert len(office["restrictions"]) == 5
    layer = Layer.objects.get(schedule=schedule, name="Weekly")
    members = LayerMember.objects.filter(layer=layer).order_by("position")
    assert [m.user.username for m in members] == ["alice", "bob", "alice"]
    assert created["ical_url"] == (
        f"http://testserver/ical/schedules/{schedule.ical_token}.ics"
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not an IANA time zone"),
        ({"time_zone": "Europe/../etc/passwd"}, "time_zone", "not an IANA time zone"),
    ],
)
def test_a_bad_schedule_is_400_with_the_reason(
    api, alice, bob, carol, outsider, fields, field, message
):
    response = create(api, **fields)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert message in response.json()["detail"]
    assert not Schedule.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "text",
        42,
        {"name": None},
        {"name": "x", "team": "bots", "time_zone": "UTC"},
        {"name": "x", "team": "platform", "time_zone": "UTC", "extra": 1},
        {"name": "x", "team": "platform", "time_zone": "UTC", "layers": "no"},
        {
            "name": "x",
            "team": "platform",
            "time_zone": "UTC",
            "layers": [{**WEEKLY, "shift_count": 0}],
        },
        {
            "name": "x",
            "team": "platform",
            "time_zone": "UTC",
            "layers": [{**WEEKLY, "shift_unit": "fortnights"}],
        },
        {
            "name": "x",
            "team": "platform",
            "time_zone": "UTC",
            "layers": [{**WEEKLY, "members": ["nobody-here"]}],
        },
        {
            "name": "x",
            "team": "platform",
            "time_zone": "UTC",
            "layers": [{**WEEKLY, "start_date": "0001-01-01"}],
        },
        {
            "name": "x",
            "team": "platform",
            "time_zone": "UTC",
            "layers": [{**OFFICE, "restrictions": [{"start_day": 7}]}],
        },
        {"name": "x" * 101, "team": "platform", "time_zone": "UTC"},
        {"name": "x", "team": "platform", "time_zone": "x" * 5000},
    ],
)
def test_garbage_is_400_never_500(api, alice, bob, carol, outsider, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert not Schedule.objects.exists()


def test_a_duplicate_name_in_the_team_is_400(api, created):
    response = create(api, layers=[])
    assert response.status_code == 400
    assert response.json()["field"] == "name"


def test_patching_replaces_the_layers_and_keeps_the_rest(api, created):
    response = api.patch(detail(created["id"]), {"name": "Renamed", "layers": [OFFICE]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["time_zone"]) == ("Renamed", "Europe/Berlin")
    assert [layer["name"] for layer in body["layers"]] == ["Office hours"]
    assert Layer.objects.filter(schedule_id=created["id"]).count() == 1
    assert api.patch(detail(created["id"]), {"team": "bots"}).status_code == 400


def test_patching_without_layers_leaves_them(api, created):
    response = api.patch(detail(created["id"]), {"time_zone": "America/New_York"})
    assert response.status_code == 200
    assert len(response.json()["layers"]) == 2
    assert Schedule.objects.get().time_zone == "America/New_York"


def test_a_schedule_still_in_use_is_not_deleted_409(api, created):
    # An escalation policy pointing at the schedule protects it (PROTECT).
    in_use = ProtectedError("used by a policy", set())
    with mock.patch.object(Schedule, "delete", side_effect=in_use):
        response = api.delete(detail(created["id"]))
    assert response.status_code == 409
    assert response.json()["code"] == "schedule_in_use"
    assert Schedule.objects.filter(pk=created["id"]).exists()


def test_deleting_a_schedule_removes_its_layers_and_overrides(api, created):
    api.post(
        f"{detail(created['id'])}overrides/",
        {"user": "bob", "start": "2026-03-04T10:00Z", "end": "2026-03-04T11:00Z"},
    )
    assert api.delete(detail(created["id"])).status_code == 204
    assert not Schedule.objects.exists()
    assert not Layer.objects.exists()
    assert not Override.objects.exists()


# --- Team scoping and authentication ------------------------------------------------


def test_the_list_shows_only_the_callers_teams_schedules(api, created, outsider):
    bots = TeamFactory(name="Bots team", slug="bots-team")
    member(bots, "dave")
    other = create(api_client(outsider), team="bots", layers=[])
    assert other.status_code == 201, other.content

    names = [s["id"] for s in api.get(URL).json()["results"]]
    assert names == [created["id"]]
    assert [s["team"] for s in api_client(outsider).get(URL).json()["results"]] == [
        "bots"
    ]


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("get", "", None),
        ("patch", "", {"name": "x"}),
        ("delete", "", None),
        ("get", "oncall", None),
        ("get", "shifts", None),
        ("get", "overrides", None),
        (
            "post",
            "overrides",
            {
                "user": "outsider",
                "start": "2026-03-04T10:00Z",
                "end": "2026-03-04T11:00Z",
            },
        ),
        ("post", "swaps", {}),
        ("post", "rotate-ical", None),
    ],
)
def test_another_teams_schedule_is_404(created, outsider, method, action, body):
    client = api_client(outsider)
    response = getattr(client, method)(detail(created["id"], action), body)
    assert response.status_code == 404
    assert Schedule.objects.get().name == "Primary"
    assert not Override.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        URL,
        f"{URL}1/",
        f"{URL}1/oncall/",
        f"{URL}1/shifts/",
        f"{URL}1/overrides/",
        "/api/v1/calendar-feed/",
    ],
)
def test_anonymous_requests_get_401(db, path):
    assert api_client().get(path).status_code == 401
    assert api_client().post(path, {}).status_code == 401


# --- Who is on call -----------------------------------------------------------------


def test_oncall_at_a_time_names_the_users_and_the_covering_shift(api, created):
    response = api.get(
        detail(created["id"], "oncall"), {"at": "2026-03-04T10:00+01:00"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["at"] == "2026-03-04T09:00:00Z"
    assert [u["username"] for u in body["users"]] == ["carol"]
    (shift,) = body["shifts"]
    assert (shift["start"], shift["end"]) == (
        "2026-03-04T08:00:00Z",
        "2026-03-04T16:00:00Z",
    )
    assert (shift["source"], shift["layer"]["name"], shift["override"]) == (
        "layer",
        "Office hours",
        None,
    )


def test_oncall_defaults_to_now(api, created):
    with time_machine.travel(at("2026-03-11T20:00"), tick=False):
        body = api.get(detail(created["id"], "oncall")).json()
    assert [u["username"] for u in body["users"]] == ["bob"]
    assert body["shifts"][0]["layer"]["name"] == "Weekly"


def test_a_plus_sign_decoded_as_a_space_still_reads_as_an_offset(api, created):
    response = api.get(f"{detail(created['id'], 'oncall')}?at=2026-03-04T10:00+01:00")
    assert response.status_code == 200, response.content
    assert response.json()["at"] == "2026-03-04T09:00:00Z"


def test_oncall_in_a_gap_is_an_empty_list(api, carol, team):
    response = create(api, layers=[OFFICE])
    assert response.status_code == 201, response.content
    body = api.get(
        detail(response.json()["id"], "oncall"), {"at": "2026-03-07T12:00Z"}
    ).json()
    assert (body["users"], body["shifts"]) == ([], [])


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        ("2026-03-04T10:00", "offset"),
        ("yesterday", "wrong format"),
        ("2026-13-45T99:99Z", "wrong format"),
        ("9999-12-31T23:59Z", "between 1970 and 2200"),
    ],
)
def test_a_naive_or_unreadable_at_is_400_with_the_reason(api, created, at, reason):
    response = api.get(detail(created["id"], "oncall"), {"at": at})
    assert response.status_code == 400
    assert reason in response.json()["at"][0]


# --- Shifts -------------------------------------------------------------------------


def test_the_next_shifts_from_a_time(api, created):
    response = api.get(
        detail(created["id"], "shifts"), {"from": "2026-03-04T18:00+01:00", "count": 3}
    )
    assert response.status_code == 200, response.content
    found = [
        (s["start"], s["end"], s["user"]["username"], s["layer"]["name"])
        for s in response.json()
    ]
    assert found == [
        ("2026-03-04T16:00:00Z", "2026-03-05T08:00:00Z", "alice", "Weekly"),
        ("2026-03-05T08:00:00Z", "2026-03-05T16:00:00Z", "carol", "Office hours"),
        ("2026-03-05T16:00:00Z", "2026-03-06T08:00:00Z", "alice", "Weekly"),
    ]


def test_shifts_default_to_ten_from_now(api, created):
    with time_machine.travel(at("2026-03-04T12:00"), tick=False):
        shifts = api.get(detail(created["id"], "shifts")).json()
    assert len(shifts) == 10
    assert shifts[0]["user"]["username"] == "carol"


@pytest.mark.parametrize(
    "query",
    [
        {"count": 0},
        {"count": 501},
        {"count": "many"},
        {"from": "2026-03-04"},
        {"from": "2026-03-04T10:00"},
    ],
)
def test_a_bad_count_or_from_is_400(api, created, query):
    response = api.get(detail(created["id"], "shifts"), query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)


# --- Overrides and swaps --------------------------------------------------------------


def test_an_override_puts_someone_on_call_and_can_be_removed(api, created, responder):
    url = f"{detail(created['id'])}overrides/"
    response = api.post(
        url,
        {
            "user": "bob",
            "covered_user": "carol",
            "start": "2026-03-04T09:00Z",
            "end": "2026-03-04T12:00Z",
            "reason": "dentist",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["user"]["username"], body["covered_user"]["username"]) == (
        "bob",
        "carol",
    )
    assert body["created_by"] == "responder"
    schedule = Schedule.objects.get()
    assert [
        u.username
        for u in schedule_oncall(schedule=schedule, at=at("2026-03-04T11:00"))
    ] == ["bob"]
    oncall = api.get(detail(schedule, "oncall"), {"at": "2026-03-04T10:00Z"}).json()
    assert (oncall["shifts"][0]["source"], oncall["shifts"][0]["override"]) == (
        "override",
        body["id"],
    )
    assert [o["id"] for o in api.get(url).json()["results"]] == [body["id"]]

    assert api.delete(f"{url}{body['id']}/").status_code == 204
    assert not Override.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"user": "bob", "start": "2026-03-04T12:00Z", "end": "2026-03-04T09:00Z"},
            "user",
        ),
        (
            {"user": "bob", "start": "2026-03-04T09:00", "end": "2026-03-04T12:00Z"},
            "start",
        ),
        (
            {
                "user": "outsider",
                "start": "2026-03-04T09:00Z",
                "end": "2026-03-04T12:00Z",
            },
            "user",
        ),
        (
            {
                "user": "bob",
                "covered_user": "bob",
                "start": "2026-03-04T09:00Z",
                "end": "2026-03-04T12:00Z",
            },
            "covered_user",
        ),
        (
            {
                "user": "bob",
                "start": "2026-03-04T09:00Z",
                "end": "2026-03-04T12:00Z",
                "reason": "x" * 201,
            },
            "reason",
        ),
    ],
)
def test_a_bad_override_is_400(api, created, outsider, body, field):
    response = api.post(f"{detail(created['id'])}overrides/", body)
    assert response.status_code == 400
    payload = response.json()
    assert payload.get("field") == field or field in payload
    assert not Override.objects.exists()


def test_an_override_of_another_schedule_is_404_through_this_one(api, created):
    other = create(api, name="Secondary", layers=[]).json()
    response = api.post(
        f"{detail(other['id'])}overrides/",
        {"user": "bob", "start": "2026-03-04T09:00Z", "end": "2026-03-04T12:00Z"},
    )
    override = response.json()["id"]
    wrong = f"{detail(created['id'])}overrides/{override}/"
    assert api.delete(wrong).status_code == 404
    assert Override.objects.filter(pk=override).exists()


def swap_body(**changes: object) -> dict:
    body = {
        "first": {
            "user": "alice",
            "start": "2026-03-02T08:00Z",
            "end": "2026-03-09T08:00Z",
        },
        "second": {
            "user": "bob",
            "start": "2026-03-09T08:00Z",
            "end": "2026-03-16T08:00Z",
        },
    }
    body.update(changes)
    return body


@pytest.fixture
def weekly(api, alice, bob) -> dict:
    response = create(api, name="Weekly only", layers=[WEEKLY])
    assert response.status_code == 201, response.content
    return response.json()


def test_a_swap_trades_two_shifts_as_a_pair_of_overrides(api, weekly):
    created = weekly
    response = api.post(detail(created["id"], "swaps"), swap_body(), format="json")
    assert response.status_code == 201, response.content
    given, taken = response.json()
    assert (given["user"]["username"], given["covered_user"]["username"]) == (
        "bob",
        "alice",
    )
    assert given["swap_of"] == taken["id"]
    assert taken["swap_of"] == given["id"]
    assert given["reason"] == "Swap between alice and bob"
    shifts = api.get(
        detail(created["id"], "shifts"), {"from": "2026-03-07T12:00Z", "count": 2}
    ).json()
    assert [s["user"]["username"] for s in shifts] == ["bob", "alice"]
    assert [s["source"] for s in shifts] == ["override", "override"]

    assert (
        api.delete(f"{detail(created['id'])}overrides/{taken['id']}/").status_code
        == 204
    )
    assert not Override.objects.exists()  # both halves went


def test_swapping_a_shift_someone_does_not_hold_is_400(api, weekly):
    created = weekly
    body = swap_body(
        second={"user": "bob", "start": "2026-03-02T08:00Z", "end": "2026-03-03T08:00Z"}
    )
    body["first"]["start"], body["first"]["end"] = (
        "2026-03-09T08:00Z",
        "2026-03-10T08:00Z",
    )
    response = api.post(detail(created["id"], "swaps"), body, format="json")
    assert response.status_code == 400
    assert "is not on call throughout" in response.json()["detail"]
    assert not Override.objects.exists()


# --- iCal secrets and the calendar feed ----------------------------------------------


def test_rotating_the_ical_url_changes_the_secret(api, created):
    before = created["ical_url"]
    response = api.post(detail(created["id"], "rotate-ical"))
    assert response.status_code == 200
    assert response.json()["ical_url"] != before
    assert api_client().get(before).status_code == 404


def test_your_calendar_feed_is_made_on_demand_and_rotatable(api, responder):
    first = api.get("/api/v1/calendar-feed/").json()["url"]
    assert first == api.get("/api/v1/calendar-feed/").json()["url"]
    assert first.startswith("http://testserver/ical/users/")
    rotated = api.post("/api/v1/calendar-feed/rotate/").json()["url"]
    assert rotated != first
    assert api_client().get(first).status_code == 404
    assert api_client().get(rotated).status_code == 200


def test_the_schema_describes_the_schedule_endpoints(client):
    text = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/schedules/",
        "/api/v1/schedules/{id}/oncall/",
        "/api/v1/schedules/{id}/shifts/",
        "/api/v1/schedules/{id}/swaps/",
        "/api/v1/schedules/{schedule_pk}/overrides/{id}/",
        "/api/v1/calendar-feed/rotate/",
    ):
        assert f"{path}:" in text, path
