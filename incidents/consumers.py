"""Websockets of the war room: the incident list and one incident's timeline.

A socket lives no longer than the session that opened it: signing out closes
it at once (a message to the session's group, through the broker, from any
web process), and every VIGIL_WS_SESSION_CHECK_SECONDS it checks that the
session still signs its user in (not expired, user active, same password).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from django.conf import settings

from config.auth import session_user
from incidents import selectors
from incidents.live import (
    EVERYTHING,
    incident_group,
    relay,
    session_group,
    team_group,
)

# Close codes in the 4000 range mirror the HTTP statuses.
UNAUTHENTICATED = 4401
NOT_FOUND = 4404


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]
    session_watch: asyncio.Task[None] | None = None

    async def groups_for(self, user: Any) -> list[str] | None:
        raise NotImplementedError

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if user is None or not user.is_authenticated or not session_key:
            await self.close(code=UNAUTHENTICATED)
            return
        groups = await self.groups_for(user)
        if groups is None:
            await self.close(code=NOT_FOUND)
            return
        relay.ensure_running()
        groups = [*groups, session_group(session_key)]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()
        self.session_watch = asyncio.create_task(
            self.watch_session(session_key, user.pk)
        )

    async def disconnect(self, code: int) -> None:
        if self.session_watch is not None:
            self.session_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.session_watch
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def watch_session(self, session_key: str, user_id: int) -> None:
        """Close the socket once its session no longer signs its user in."""
        check = database_sync_to_async(session_user)
        while True:
            await asyncio.sleep(settings.VIGIL_WS_SESSION_CHECK_SECONDS)
            if (await check(session_key)).pk != user_id:
                await self.close(code=UNAUTHENTICATED)
                return

    async def session_ended(self, message: dict[str, Any]) -> None:
        await self.close(code=UNAUTHENTICATED)

    async def timeline_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["payload"])


class IncidentListConsumer(_LiveConsumer):
    """`/ws/incidents/`: every event of the incidents of the user's teams."""

    async def groups_for(self, user: Any) -> list[str] | None:
        if user.is_superuser:
            return [EVERYTHING]
        team_ids = await database_sync_to_async(
            lambda: list(selectors.team_list(user=user).values_list("pk", flat=True))
        )()
        return [team_group(pk) for pk in team_ids]


class IncidentConsumer(_LiveConsumer):
    """`/ws/incidents/<public_id>/`: one incident's timeline as it grows."""

    async def groups_for(self, user: Any) -> list[str] | None:
        # A restricted incident's socket is its named responders' (and its
        # team leads'): to anyone else it does not exist, as in the API.
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        visible = await database_sync_to_async(self._visible)(user)
        return [incident_group(public_id)] if visible else None

    def _visible(self, user: Any) -> bool:
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        return selectors.incident_list(user=user).filter(public_id=public_id).exists()

    async def timeline_event(self, message: dict[str, Any]) -> None:
        # Restricted after this socket opened: the subscriber may no longer
        # be one who sees the details; it is asked again for each event.
        if message["payload"]["incident"].get("restricted"):
            user = self.scope["user"]
            if not await database_sync_to_async(self._visible)(user):
                await self.close(code=NOT_FOUND)
                return
        await super().timeline_event(message)


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other path: refused before the handshake completes."""

    async def connect(self) -> None:
        await self.close(code=NOT_FOUND)
