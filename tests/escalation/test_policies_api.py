"""Escalation policies through the API and their services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalation.demo import demo_escalation_policy_create
from escalation.exceptions import EscalationPolicyError
from escalation.models import EscalationLevel, EscalationPolicy, Schedule
from escalation.services.policies import (
    escalation_policy_create,
    escalation_policy_update,
    policy_levels,
    service_set_escalation_policy,
)
from incidents.models import Incident, TeamMembership
from incidents.services import incident_transition
from tests.conftest import api_client
from tests.factories import (
    MembershipFactory,
    ServiceFactory,
    TeamFactory,
    declare,
    verify,
)

POLICIES = "/api/v1/escalation-policies/"
Role = TeamMembership.Role


def user(name: str) -> dict[str, object]:
    return {"kind": "user", "user": name}


def sop_body(**fields: object) -> dict[str, object]:
    """The SOPs' four levels, as a client sends them."""
    return {
        "name": "SOP",
        "team": "platform",
        "levels": [
            {"name": "On-call engineer", "targets": [user("responder")]},
            {
                "name": "Team lead",
                "page_at_declaration_up_to": "P1",
                "targets": [{"kind": "team", "team": "platform", "team_role": "lead"}],
            },
            {
                "name": "Incident commander",
                "delay": "00:30:00",
                "targets": [user("lead")],
            },
            {
                "name": "Management",
                "up_to_severity": "P0",
                "page_at_declaration_up_to": "P0",
                "targets": [
                    {"kind": "team", "team": "platform", "team_role": "manager"}
                ],
            },
        ],
        **fields,
    }


@pytest.fixture
def created(api, team_lead) -> dict:
    response = api.post(POLICIES, sop_body(repeat=1), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_creating_a_policy_writes_its_levels_and_targets(created, team, team_lead):
    assert created["name"] == "SOP"
    assert (created["team"], created["repeat"], created["services"]) == (
        "platform",
        1,
        [],
    )
    levels = created["levels"]
    assert [(lv["position"], lv["label"]) for lv in levels] == [
        (1, "L1 (On-call engineer)"),
        (2, "L2 (Team lead)"),
        (3, "L3 (Incident commander)"),
        (4, "L4 (Management)"),
    ]
    assert [(lv["delay"], lv["up_to_severity"]) for lv in levels] == [
        (None, None),
        (None, None),
        ("00:30:00", None),
        (None, "P0"),
    ]
    assert [lv["page_at_declaration_up_to"] for lv in levels] == [
        None,
        "P1",
        None,
        "P0",
    ]
    (lead_target,) = levels[1]["targets"]
    assert {k: lead_target[k] for k in ("kind", "user", "team", "team_role")} == {
        "kind": "team",
        "user": None,
        "team": "platform",
        "team_role": "lead",
    }
    policy = EscalationPolicy.objects.get(pk=created["id"])
    level_three = policy.levels.get(position=3)
    assert level_three.delay == timedelta(minutes=30)
    assert [t.user for t in level_three.targets.all()] == [team_lead]


def test_positions_may_be_given_in_any_order(api, team_lead):
    body = sop_body()
    levels = body["levels"]
    for position, level in zip((3, 1, 4, 2), levels, strict=True):
        level["position"] = position

    response = api.post(POLICIES, body, format="json")

    assert response.status_code == 201, response.content
    names = [lv["name"] for lv in response.json()["levels"]]
    assert names == [
        "Team lead",
        "Management",
        "On-call engineer",
        "Incident commander",
    ]


def test_a_schedule_target_is_named_by_its_id(api, team):
    schedule = Schedule.objects.create(name="Primary", team=team, time_zone="UTC")
    body = sop_body(
        levels=[{"targets": [{"kind": "schedule", "schedule": schedule.pk}]}]
    )

    response = api.post(POLICIES, body, format="json")

    assert response.status_code == 201, response.content
    (target,) = response.json()["levels"][0]["targets"]
    assert (target["kind"], target["schedule"]) == ("schedule", schedule.pk)


def level_with(**fields: object) -> dict[str, object]:
    return sop_body(levels=[{"targets": [user("responder")], **fields}])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (sop_body(levels=[]), "levels", "a policy needs at least one level"),
        (level_with(targets=[]), "levels[0].targets", "needs at least one target"),
        (
            level_with(
                targets=[{"kind": "user", "user": "responder", "team": "platform"}]
            ),
            "levels[0].targets[0].team",
            "a user target names only its user",
        ),
        (
            level_with(targets=[{"kind": "team"}]),
            "levels[0].targets[0].team",
            "a team target names one team",
        ),
        (
            level_with(
                targets=[{"kind": "user", "user": "responder", "team_role": "lead"}]
            ),
            "levels[0].targets[0].team_role",
            "only a team target has a role",
        ),
        (
            level_with(targets=[user("builder")]),
            "levels[0].targets[0].user",
            "builder is not an active member of team Platform",
        ),
        (level_with(delay="-00:01:00"), "levels[0].delay", "between 0 and 7 days"),
        (level_with(delay="7 00:00:01"), "levels[0].delay", "between 0 and 7 days"),
        (
            level_with(up_to_severity="P0", page_at_declaration_up_to="P1"),
            "levels[0].page_at_declaration_up_to",
            "P1 is less severe than the level's up_to_severity P0",
        ),
        (sop_body(repeat=10), "repeat", "must be between 0 and 9"),
        (
            sop_body(ack_timeout="00:00:59"),
            "ack_timeout",
            "must be between 1 min and 7 d, or empty for acknowledgements that "
            "do not expire",
        ),
        (sop_body(ack_timeout="7 00:01:00"), "ack_timeout", "between 1 min and 7 d"),
        (
            sop_body(levels=[{"position": 1, "targets": [user("responder")]}] * 2),
            "levels",
            "positions must run 1..2 without gaps or repeats; got 1, 1",
        ),
        (
            sop_body(
                levels=[
                    {"position": 1, "targets": [user("responder")]},
                    {"targets": [user("responder")]},
                ]
            ),
            "levels",
            "give every level a position, or none",
        ),
    ],
)
def test_a_policy_that_does_not_make_sense_is_refused_naming_the_field(
    api, team_lead, builder, body, field, message
):
    response = api.post(POLICIES, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()
    assert (error["code"], error["field"]) == ("escalation_policy", field)
    assert error["detail"].startswith(f"{field}: ")
    assert message in error["detail"]
    assert not EscalationPolicy.objects.exists()


@pytest.fixture
def builder(team, responder) -> object:
    """A member of another of the responder's teams, not of the policy's."""
    other = TeamFactory(name="Build", slug="build")
    MembershipFactory(team=other, user=responder)
    return MembershipFactory(team=other, user__username="builder").user


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (sop_body(team="bots"), "team"),
        (level_with(targets=[user("outsider")]), "levels"),
        (level_with(targets=[{"kind": "robot"}]), "levels"),
        (level_with(colour="red"), "levels"),
        (sop_body(name=""), "name"),
    ],
)
def test_input_naming_unknown_or_invisible_things_is_refused(
    api, team_lead, outsider, body, where
):
    response = api.post(POLICIES, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [where]


def test_a_second_policy_of_the_same_name_is_refused(api, created):
    response = api.post(POLICIES, sop_body(), format="json")

    assert response.status_code == 400
    assert response.json()["field"] == "name"
    assert EscalationPolicy.objects.count() == 1


def test_an_inactive_user_is_no_target(team, responder):
    responder.is_active = False
    responder.save()

    with pytest.raises(EscalationPolicyError, match="not an active member"):
        escalation_policy_create(
            name="SOP",
            team=team,
            levels=[{"targets": [{"kind": "user", "user": responder}]}],
        )


# --- Reading, scoping -----------------------------------------------------------


def test_only_your_teams_policies_are_listed_and_shown(api, created, outsider):
    assert [p["id"] for p in api.get(POLICIES).json()["results"]] == [created["id"]]

    theirs = api_client(outsider)
    assert theirs.get(POLICIES).json()["results"] == []
    assert theirs.get(f"{POLICIES}{created['id']}/").status_code == 404
    assert theirs.patch(f"{POLICIES}{created['id']}/", {"name": "x"}).status_code == 404
    assert theirs.delete(f"{POLICIES}{created['id']}/").status_code == 404
    assert api_client().get(POLICIES).status_code == 401
    assert EscalationPolicy.objects.get().name == "SOP"


# --- Changing -----------------------------------------------------------------------


def test_patching_fields_keeps_the_levels(api, created):
    url = f"{POLICIES}{created['id']}/"
    before = list(EscalationLevel.objects.values_list("pk", flat=True))

    response = api.patch(url, {"name": "SOP v2", "repeat": 2}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["repeat"]) == ("SOP v2", 2)
    assert list(EscalationLevel.objects.values_list("pk", flat=True)) == before


def test_acknowledgements_expire_only_when_the_policy_says_so(api, created):
    url = f"{POLICIES}{created['id']}/"
    assert created["ack_timeout"] is None

    response = api.patch(url, {"ack_timeout": "00:30:00"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["ack_timeout"] == "00:30:00"
    assert EscalationPolicy.objects.get().ack_timeout == timedelta(minutes=30)

    # Another field patched leaves it; null takes it away.
    assert api.patch(url, {"repeat": 0}, format="json").json()["ack_timeout"]
    response = api.patch(url, {"ack_timeout": None}, format="json")
    assert response.json()["ack_timeout"] is None


def test_levels_given_replace_all_the_old_ones(api, created):
    url = f"{POLICIES}{created['id']}/"
    levels = [{"name": "Only", "delay": "00:05:00", "targets": [user("lead")]}]

    response = api.patch(url, {"levels": levels}, format="json")

    assert response.status_code == 200, response.content
    assert [lv["label"] for lv in response.json()["levels"]] == ["L1 (Only)"]
    assert EscalationLevel.objects.count() == 1


def test_put_replaces_the_whole_policy_and_is_checked_like_create(api, created):
    url = f"{POLICIES}{created['id']}/"

    refused = api.put(url, sop_body(repeat=12), format="json")
    replaced = api.put(url, sop_body(name="New", description="d"), format="json")

    assert refused.status_code == 400
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["name"], replaced.json()["repeat"]) == ("New", 0)
    assert EscalationLevel.objects.count() == 4


def test_the_team_of_a_policy_in_use_stays(api, created, service, builder):
    policy = EscalationPolicy.objects.get()
    service_set_escalation_policy(service=service, policy=policy)

    response = api.patch(
        f"{POLICIES}{created['id']}/", {"team": "build"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["field"] == "team"


def test_moving_a_policy_to_another_team_checks_its_targets_again(
    team, responder, builder
):
    policy = escalation_policy_create(
        name="SOP",
        team=team,
        levels=[{"targets": [{"kind": "user", "user": responder}]}],
    )
    build = builder.teams.get()

    with pytest.raises(
        EscalationPolicyError, match="responder is not an active member"
    ):
        escalation_policy_update(policy=policy, team=TeamFactory())
    moved = escalation_policy_update(policy=policy, team=build)

    assert moved.team == build


# --- Deleting -------------------------------------------------------------------------


def test_an_unused_policy_is_deleted(api, created):
    response = api.delete(f"{POLICIES}{created['id']}/")

    assert response.status_code == 204
    assert not EscalationPolicy.objects.exists()
    assert not EscalationLevel.objects.exists()


def test_a_policy_a_service_uses_is_not_deleted(api, created, service):
    service_set_escalation_policy(
        service=service, policy=EscalationPolicy.objects.get()
    )

    response = api.delete(f"{POLICIES}{created['id']}/")

    assert response.status_code == 409
    assert response.json()["services"] == ["website"]
    assert EscalationPolicy.objects.exists()


def test_a_policy_open_incidents_follow_is_deleted_once_they_are_resolved(
    api, created, service, responder
):
    policy = EscalationPolicy.objects.get()
    service_set_escalation_policy(service=service, policy=policy)
    incident = declare(service, "P1", by=responder)
    service_set_escalation_policy(service=service, policy=None)
    url = f"{POLICIES}{created['id']}/"

    refused = api.delete(url)
    verify(incident)
    incident_transition(incident=incident, to=Incident.Status.RESOLVED, by=responder)
    deleted = api.delete(url)

    assert refused.status_code == 409
    assert refused.json()["incidents"] == [incident.public_id]
    assert deleted.status_code == 204


# --- Attaching to a service ----------------------------------------------------------


def test_a_service_gets_a_policy_of_its_team_and_can_drop_it(api, created, service):
    url = "/api/v1/services/website/escalation-policy/"

    attached = api.put(url, {"policy": created["id"]}, format="json")
    shown = api.get(f"{POLICIES}{created['id']}/").json()
    dropped = api.put(url, {"policy": None}, format="json")

    assert attached.status_code == 200, attached.content
    assert attached.json() == {
        "slug": "website",
        "name": "Website",
        "policy": created["id"],
    }
    assert shown["services"] == ["website"]
    assert dropped.json()["policy"] is None
    service.refresh_from_db()
    assert service.escalation_policy is None


def test_a_service_cannot_get_another_teams_policy(api, created, builder):
    build = builder.teams.get()
    ServiceFactory(name="CI", slug="ci", team=build)

    response = api.put(
        "/api/v1/services/ci/escalation-policy/",
        {"policy": created["id"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["field"] == "policy"
    assert "belongs to team Platform" in response.json()["detail"]


def test_an_outsider_can_neither_attach_nor_see_the_policy(created, service, outsider):
    theirs_service = ServiceFactory(team=outsider.teams.get())
    client = api_client(outsider)

    mine = client.put(
        f"/api/v1/services/{theirs_service.slug}/escalation-policy/",
        {"policy": created["id"]},
        format="json",
    )
    theirs = client.put(
        "/api/v1/services/website/escalation-policy/", {"policy": None}, format="json"
    )

    assert mine.status_code == 400
    assert list(mine.json()) == ["policy"]
    assert theirs.status_code == 404


# --- Demo data ------------------------------------------------------------------------


def test_the_demo_policy_is_the_sops_four_levels_attached_once(
    service, team, team_lead
):
    def create():
        return demo_escalation_policy_create(
            team=team,
            service=service,
            engineer=team_lead,
            lead=team_lead,
            commander=team_lead,
            manager=team_lead,
        )

    policy = create()

    assert create() == policy
    assert EscalationPolicy.objects.count() == 1
    service.refresh_from_db()
    assert service.escalation_policy == policy
    levels = [
        (
            level["name"],
            getattr(level["up_to_severity"], "code", None),
            getattr(level["page_at_declaration_up_to"], "code", None),
            [target["user"] for target in level["targets"]],
        )
        for level in policy_levels(policy)
    ]
    assert levels == [
        ("On-call engineer", None, None, [team_lead]),
        ("Team lead", None, "P1", [team_lead]),
        ("Incident commander", None, None, [team_lead]),
        ("Management", "P0", "P0", [team_lead]),
    ]
