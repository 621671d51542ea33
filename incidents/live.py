"""Live events: published after commit to a kombu fanout exchange on the
broker, relayed by every ASGI process to its websocket groups.

The same code runs on RabbitMQ and on the embedded filesystem broker, so a
change made by a worker on another machine reaches every browser.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import threading
import time
import uuid
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction
from kombu import Exchange, Queue

from config.celery import app as celery_app
from incidents.models import Incident, TimelineEvent

logger = logging.getLogger(__name__)

EXCHANGE = Exchange("vigil.live", type="fanout", durable=False, auto_delete=False)
# An event older than this is no longer news: a relay that was down drops it.
MAX_AGE_SECONDS = 60
EVERYTHING = "incidents.all"


def session_group(session_key: str) -> str:
    """Return the group of the sockets opened with a session.

    The key is hashed: it goes through the broker, and whoever holds it is
    signed in.
    """
    return f"session.{hashlib.sha256(session_key.encode()).hexdigest()}"


def team_group(team_id: int) -> str:
    return f"incidents.team.{team_id}"


def incident_group(public_id: str) -> str:
    return f"incidents.{public_id}"


def event_payload(event: TimelineEvent) -> dict[str, Any]:
    """Return what browsers receive for one timeline event."""
    incident: Incident = event.incident
    return {
        "type": "timeline.event",
        "sent_at": time.time(),
        "team_id": incident.service.team_id,
        "incident": {
            "public_id": incident.public_id,
            "title": incident.title,
            "status": incident.status,
            "severity": incident.severity_id,
            "service": incident.service.slug,
            "is_drill": incident.is_drill,
        },
        "event": {
            "id": event.pk,
            "kind": event.kind,
            "at": event.at.isoformat(),
            "message": event.message,
            "actor": event.actor.get_username() if event.actor else None,
            "via": event.via,
        },
    }


def publish_after_commit(event: TimelineEvent) -> None:
    """Publish the event to every ASGI process once the transaction commits."""
    payload = event_payload(event)
    transaction.on_commit(lambda: _publish(payload))


def session_end_publish(session_key: str) -> None:
    """Tell every ASGI process to close the sockets of a session (a sign-out).

    The periodic check of each socket (VIGIL_WS_SESSION_CHECK_SECONDS) closes
    them too, should this message be lost.
    """
    payload = {
        "type": "session.ended",
        "sent_at": time.time(),
        "group": session_group(session_key),
    }
    transaction.on_commit(lambda: _publish(payload))


def _publish(payload: dict[str, Any]) -> None:
    # Live updates are a convenience: the database already holds the event
    # (and a socket checks its session on its own), so a broker hiccup here
    # is logged, never raised into the request.
    try:
        with celery_app.producer_pool.acquire(block=True, timeout=2) as producer:
            producer.publish(
                payload,
                exchange=EXCHANGE,
                routing_key="",
                serializer="json",
                declare=[EXCHANGE],
                expiration=MAX_AGE_SECONDS,
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.1},
            )
    except Exception:
        what = payload.get("event", {}).get("id", payload["type"])
        logger.exception("could not publish live event %s", what)


def _relay_queue(transport: str) -> Queue:
    if transport == "filesystem":
        # The filesystem transport keeps bindings forever, so a per-process
        # name would leave a dead queue filling up after every restart; the
        # embedded mode runs one ASGI process per machine.
        name = f"vigil.live.{socket.gethostname()}"
        return Queue(name, EXCHANGE, durable=False)
    name = f"vigil.live.{socket.gethostname()}.{uuid.uuid4().hex[:12]}"
    return Queue(name, EXCHANGE, durable=False, exclusive=True, auto_delete=True)


class Relay:
    """Consume live events in a thread; fan them out on the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self.ready = threading.Event()

    def ensure_running(self) -> None:
        """Start the relay for the running event loop, once."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._loop is loop and not self._stop.is_set():
                return
            self._stop.set()  # a relay bound to an older loop ends
            self._stop = threading.Event()
            self.ready = threading.Event()
            self._loop = loop
            thread = threading.Thread(
                target=self._consume,
                args=(loop, self._stop, self.ready),
                name="vigil-live-relay",
                daemon=True,
            )
            thread.start()

    def _consume(
        self,
        loop: asyncio.AbstractEventLoop,
        stop: threading.Event,
        ready: threading.Event,
    ) -> None:
        def deliver(body: dict[str, Any], message: Any) -> None:
            if stop.is_set() or loop.is_closed():
                message.requeue()  # the relay of the current loop takes it
                return
            message.ack()
            if time.time() - float(body.get("sent_at", 0)) <= MAX_AGE_SECONDS:
                asyncio.run_coroutine_threadsafe(_fan_out(body), loop)

        while not stop.is_set() and not loop.is_closed():
            try:
                with celery_app.connection_for_read() as conn:
                    conn.ensure_connection(max_retries=3)
                    queue = _relay_queue(conn.transport.driver_type)(
                        conn.default_channel
                    )
                    queue.declare()
                    # Sockets connect after their relay starts: what waited in
                    # a kept queue before that is of interest to nobody.
                    queue.purge()
                    with conn.Consumer(queue, callbacks=[deliver], accept=["json"]):
                        ready.set()
                        while not stop.is_set() and not loop.is_closed():
                            try:
                                conn.drain_events(timeout=0.2)
                            except TimeoutError:
                                continue
            except Exception:
                logger.exception("live relay lost the broker; reconnecting")
                stop.wait(1.0)


async def _fan_out(body: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if body.get("type") == "session.ended":
        await layer.group_send(str(body["group"]), {"type": "session.ended"})
        return
    message = {"type": "timeline.event", "payload": body}
    for group in (
        EVERYTHING,
        team_group(int(body["team_id"])),
        incident_group(body["incident"]["public_id"]),
    ):
        await layer.group_send(group, message)


relay = Relay()
