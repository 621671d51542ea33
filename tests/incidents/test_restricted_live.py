"""Live events of a restricted incident: its team's board hears that it
changed, only its named responders follow what happened."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from incidents.live import relay
from incidents.models import IncidentRole
from incidents.services import incident_assign_role
from incidents.services.security import incident_set_visibility
from tests.conftest import api_client, in_responders
from tests.factories import MembershipFactory, declare
from tests.incidents.test_live import connect, session_headers

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
SECRET = "Web shell on the billing host"


@pytest.fixture
def teammate(team):
    return in_responders(MembershipFactory(team=team, user__username="teammate").user)


@pytest.fixture
def restricted(service, responder):
    incident = declare(service, "P1", title=SECRET, category="security", by=responder)
    incident_assign_role(
        incident=incident,
        role=IncidentRole.INCIDENT_COMMANDER,
        user=responder,
        by=responder,
    )
    return incident_set_visibility(incident=incident, restricted=True, by=responder)


def test_the_board_hears_only_that_a_restricted_incident_changed(
    restricted, responder, teammate
):
    api = api_client(responder)
    as_teammate = session_headers(teammate)

    async def scenario() -> None:
        board, state = await connect("/ws/incidents/", as_teammate)
        assert state == (True, None)
        await sync_to_async(relay.ready.wait)(10)
        await sync_to_async(api.post)(
            f"/api/v1/incidents/{restricted.public_id}/note/",
            {"text": "attacker used the upload form"},
            format="json",
        )
        await sync_to_async(api.post)(
            f"/api/v1/incidents/{restricted.public_id}/acknowledge/"
        )
        note = await board.receive_json_from(timeout=5)
        ack = await board.receive_json_from(timeout=5)
        for event in (note, ack):
            assert event["incident"]["public_id"] == restricted.public_id
            assert event["incident"]["restricted"] is True
            assert event["incident"]["title"] == "Restricted incident"
            assert event["incident"]["service"] == ""
            assert event["event"]["message"] == ""
            assert event["event"]["actor"] is None
            assert SECRET not in str(event)
            assert "upload form" not in str(event)
        assert note["event"]["kind"] == "updated"
        assert ack["event"]["kind"] == "acknowledged"
        assert ack["incident"]["status"] == "acknowledged"
        await board.disconnect()

    async_to_sync(scenario)()


def test_only_named_responders_follow_a_restricted_incident(
    restricted, responder, teammate
):
    api = api_client(responder)
    path = f"/ws/incidents/{restricted.public_id}/"
    as_teammate, as_responder = session_headers(teammate), session_headers(responder)

    async def scenario() -> None:
        _, state = await connect(path, as_teammate)
        assert state == (False, 4404)
        socket, state = await connect(path, as_responder)
        assert state == (True, None)
        await sync_to_async(relay.ready.wait)(10)
        await sync_to_async(api.post)(
            f"/api/v1/incidents/{restricted.public_id}/note/",
            {"text": "attacker used the upload form"},
            format="json",
        )
        event = await socket.receive_json_from(timeout=5)
        assert event["incident"]["title"] == SECRET
        assert event["event"]["message"] == "attacker used the upload form"
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_socket_opened_before_the_restriction_is_closed_at_its_next_event(
    service, responder, team_lead, teammate
):
    incident = declare(service, "P1", title=SECRET, by=responder)
    api = api_client(team_lead)
    as_teammate = session_headers(teammate)

    async def scenario() -> None:
        socket, state = await connect(
            f"/ws/incidents/{incident.public_id}/", as_teammate
        )
        assert state == (True, None)
        await sync_to_async(relay.ready.wait)(10)
        await sync_to_async(api.post)(
            f"/api/v1/incidents/{incident.public_id}/visibility/",
            {"restricted": True},
            format="json",
        )
        closed = await socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4404}

    async_to_sync(scenario)()
