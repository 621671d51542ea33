"""Live war room: a change committed anywhere reaches the right websockets."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import Client

from config.asgi import application
from incidents.live import relay
from tests.conftest import api_client
from tests.factories import declare

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def session_headers(user: User | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"origin", b"http://127.0.0.1")]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"].value
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return headers


async def connect(
    path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[WebsocketCommunicator, Any]:
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await socket.connect(timeout=5)
    return socket, (connected, code)


def test_list_socket_pushes_changes_of_my_teams_only(service, responder, outsider):
    api = api_client(responder)
    as_responder, as_outsider = session_headers(responder), session_headers(outsider)

    async def scenario() -> None:
        mine, state = await connect("/ws/incidents/", as_responder)
        assert state == (True, None)
        theirs, state = await connect("/ws/incidents/", as_outsider)
        assert state == (True, None)
        await sync_to_async(relay.ready.wait)(10)

        response = await sync_to_async(api.post)(
            "/api/v1/incidents/",
            {"title": "Bot offline", "severity": "P0", "service": "website"},
            format="json",
        )
        assert response.status_code == 201
        # Three entries, in any order: declared, the initial status update,
        # and the escalation's (the service has no policy: nobody paged).
        events = [await mine.receive_json_from(timeout=5) for _ in range(3)]
        by_kind = {event["event"]["kind"]: event for event in events}
        assert set(by_kind) == {"created", "status_update_posted", "escalation_skipped"}
        event = by_kind["created"]
        assert event["incident"]["public_id"] == response.json()["public_id"]
        assert event["incident"]["status"] == "triggered"
        assert event["event"]["actor"] == "responder"
        assert await theirs.receive_nothing(timeout=1)
        await mine.disconnect()
        await theirs.disconnect()

    async_to_sync(scenario)()


def test_incident_socket_follows_one_timeline(service, responder):
    incident = declare(service, "P1", by=responder)
    other = declare(service, "P2", by=responder)
    api = api_client(responder)
    headers = session_headers(responder)

    async def scenario() -> None:
        socket, state = await connect(f"/ws/incidents/{incident.public_id}/", headers)
        assert state == (True, None)
        await sync_to_async(relay.ready.wait)(10)
        await sync_to_async(api.post)(
            f"/api/v1/incidents/{other.public_id}/acknowledge/"
        )
        await sync_to_async(api.post)(
            f"/api/v1/incidents/{incident.public_id}/acknowledge/"
        )
        # The declarations' own events may still be on their way (the relay
        # polls the broker): whatever arrives is this incident's, up to its
        # acknowledgement, and the other incident's never.
        received = [await socket.receive_json_from(timeout=5)]
        while received[-1]["event"]["kind"] != "acknowledged":
            received.append(await socket.receive_json_from(timeout=5))
        assert {event["incident"]["public_id"] for event in received} == {
            incident.public_id
        }
        assert received[-1]["incident"]["status"] == "acknowledged"
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_sockets_refuse_anonymous_users_and_other_teams(service, responder, outsider):
    incident = declare(service, by=responder)
    anonymous, as_outsider = session_headers(None), session_headers(outsider)
    as_responder = session_headers(responder)

    async def scenario() -> None:
        _, state = await connect("/ws/incidents/", anonymous)
        assert state == (False, 4401)
        _, state = await connect(f"/ws/incidents/{incident.public_id}/", as_outsider)
        assert state == (False, 4404)
        _, state = await connect("/ws/incidents/INC-2000-01-01-001/", as_responder)
        assert state == (False, 4404)

    async_to_sync(scenario)()


def test_sockets_refuse_foreign_origins(responder):
    cookie = session_headers(responder)[1:]

    async def scenario() -> None:
        socket = WebsocketCommunicator(
            application,
            "/ws/incidents/",
            headers=[(b"origin", b"https://evil.example"), *cookie],
        )
        connected, _ = await socket.connect(timeout=5)
        assert not connected

    async_to_sync(scenario)()
