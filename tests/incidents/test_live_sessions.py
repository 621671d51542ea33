"""A websocket lives no longer than its session; other paths are refused.

Run against the real ASGI application (config.asgi), its broker relay and
its session store, as a browser would reach them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client

from bench.embedded import free_port
from config.asgi import application
from incidents.live import relay
from tests.incidents.test_live import connect

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ROOT = Path(__file__).resolve().parents[2]
CLOSED_UNAUTHENTICATED = {"type": "websocket.close", "code": 4401}


def signed_in(user: User) -> tuple[Client, list[tuple[bytes, bytes]]]:
    """Return a browser signed in as `user` and the headers of its socket."""
    browser = Client()
    browser.force_login(user)
    cookie = browser.cookies["sessionid"].value
    return browser, [
        (b"origin", b"http://127.0.0.1"),
        (b"cookie", f"sessionid={cookie}".encode()),
    ]


async def closed(socket: WebsocketCommunicator, seconds: float = 10) -> Any:
    """Return the next thing the socket sends, skipping live events."""
    while True:
        output = await socket.receive_output(timeout=seconds)
        if output["type"] != "websocket.send":
            return output


def test_signing_out_closes_the_sessions_sockets_only(responder, settings):
    settings.VIGIL_WS_SESSION_CHECK_SECONDS = 3600  # the message alone
    responder.is_staff = True  # to use the admin's sign-out
    responder.save()
    browser, mine = signed_in(responder)
    _, other_session = signed_in(responder)

    async def scenario() -> None:
        socket, state = await connect("/ws/incidents/", mine)
        assert state == (True, None)
        other, state = await connect("/ws/incidents/", other_session)
        assert state == (True, None)
        await sync_to_async(relay.ready.wait)(10)

        response = await sync_to_async(browser.post)("/admin/logout/")
        assert response.status_code == 200

        assert await closed(socket) == CLOSED_UNAUTHENTICATED
        assert await other.receive_nothing(timeout=1)
        await other.disconnect()

    async_to_sync(scenario)()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: Session.objects.all().delete(), id="session gone"),
        pytest.param(
            lambda user: User.objects.filter(pk=user.pk).update(is_active=False),
            id="user deactivated",
        ),
        pytest.param(
            lambda user: (user.set_password("changed-pw"), user.save()),
            id="password changed",
        ),
    ],
)
def test_a_socket_closes_at_its_next_check_once_the_session_is_no_good(
    responder, settings, change
):
    settings.VIGIL_WS_SESSION_CHECK_SECONDS = 0.2
    _, headers = signed_in(responder)

    async def scenario() -> None:
        socket, state = await connect("/ws/incidents/", headers)
        assert state == (True, None)
        assert await socket.receive_nothing(timeout=1)  # checked, still good

        await sync_to_async(change)(responder)

        assert await closed(socket) == CLOSED_UNAUTHENTICATED

    async_to_sync(scenario)()


def test_an_unknown_path_is_refused_not_an_error(responder):
    _, headers = signed_in(responder)

    async def scenario() -> None:
        for path in ("/ws/nothing/", "/", "/ws/incidents/INC-1/extra/"):
            socket = WebsocketCommunicator(application, path, headers=headers)
            assert await socket.connect(timeout=5) == (False, 4404)

    async_to_sync(scenario)()


def test_uvicorn_refuses_an_unknown_websocket_path_with_403(tmp_path):
    port = free_port()
    env = {**os.environ, "VIGIL_VAR_DIR": str(tmp_path)}
    log = tmp_path / "uvicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "uvicorn", "config.asgi:application",
             "--lifespan", "off", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    handshake = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Origin": f"http://127.0.0.1:{port}",
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/ws/nothing/",
                    headers=handshake,
                    timeout=10,
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert response.status_code == 403, log.read_text()
    assert "Traceback" not in log.read_text()
