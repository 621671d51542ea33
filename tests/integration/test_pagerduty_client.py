"""PagerDuty's own Python client pages a live Vigil through its Events API v2.

The client takes only https:// base URLs, so Vigil stands behind a
TLS-terminating proxy here, as in production; the client trusts the test CA.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pagerduty
import pytest
import trustme

from tests.live import Integration, LiveVigil, wait_until


class TlsFront:
    """Terminate TLS on a free port of 127.0.0.1 and pass the bytes to Vigil."""

    def __init__(self, backend_port: int, context: ssl.SSLContext) -> None:
        self.backend_port = backend_port
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=context)
        )
        self.port = int(self.server.sockets[0].getsockname()[1])
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        backend_reader, backend_writer = await asyncio.open_connection(
            "127.0.0.1", self.backend_port
        )
        await asyncio.gather(
            self._pipe(reader, backend_writer), self._pipe(backend_reader, writer)
        )

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _shutdown(self) -> None:
        self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.server.wait_closed()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def integration(live_vigil: LiveVigil) -> Integration:
    return live_vigil.integration("pagerduty", "Python client")


@pytest.fixture(scope="module")
def client(
    live_vigil: LiveVigil, integration: Integration
) -> Iterator[pagerduty.EventsApiV2Client]:
    authority = trustme.CA()
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_side)
    client_side = ssl.create_default_context()
    authority.configure_trust(client_side)
    front = TlsFront(int(live_vigil.url.rsplit(":", 1)[1]), server_side)
    try:
        with pagerduty.EventsApiV2Client(
            integration.key,
            base_url=f"https://127.0.0.1:{front.port}",
            verify=client_side,
        ) as events:
            yield events
    finally:
        front.close()


def alert_of(vigil: LiveVigil, integration: Integration, key: str) -> dict[str, Any]:
    """The alert with dedup key `key`, once a worker has put it on an incident."""

    def placed() -> dict[str, Any] | None:
        alerts = [a for a in vigil.alerts(integration) if a["dedup_key"] == key]
        return alerts[0] if alerts and alerts[0]["incident"] else None

    return wait_until(placed, f"an incident for the alert {key!r}")


def reaches(vigil: LiveVigil, public_id: str, status: str) -> None:
    wait_until(
        lambda: vigil.incident(public_id)["status"] == status,
        f"{public_id} to be {status}",
    )


def test_the_client_triggers_acknowledges_and_resolves_an_incident(
    live_vigil: LiveVigil, integration: Integration, client: pagerduty.EventsApiV2Client
) -> None:
    key = client.trigger("Checkout answers 5xx", "checkout-1", dedup_key="checkout-5xx")
    assert key == "checkout-5xx"
    public_id = alert_of(live_vigil, integration, key)["incident"]
    incident = live_vigil.incident(public_id)
    assert incident["title"] == "Checkout answers 5xx"
    assert incident["status"] == "triggered"

    assert client.acknowledge(key) == key
    reaches(live_vigil, public_id, "acknowledged")
    live_vigil.verify(public_id)  # a P1 resolves by itself once verified

    assert client.resolve(key) == key
    reaches(live_vigil, public_id, "resolved")
    [alert] = [a for a in live_vigil.alerts(integration) if a["dedup_key"] == key]
    assert alert["status"] == "resolved"


def test_a_trigger_without_a_dedup_key_gets_back_the_key_vigil_stored(
    live_vigil: LiveVigil, integration: Integration, client: pagerduty.EventsApiV2Client
) -> None:
    key = client.trigger("Search is slow", "search-1", severity="warning")
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    alert = alert_of(live_vigil, integration, key)
    assert alert["summary"] == "Search is slow"
    assert alert["sender_severity"] == "warning"

    assert client.resolve(key) == key
    reaches(live_vigil, alert["incident"], "resolved")
