"""Websockets of the war room: the incident list and one incident's timeline."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from incidents import selectors
from incidents.live import EVERYTHING, incident_group, relay, team_group

# Close codes in the 4000 range mirror the HTTP statuses.
UNAUTHENTICATED = 4401
NOT_FOUND = 4404


class _LiveConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str]

    async def groups_for(self, user: Any) -> list[str] | None:
        raise NotImplementedError

    async def connect(self) -> None:
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        groups = await self.groups_for(user)
        if groups is None:
            await self.close(code=NOT_FOUND)
            return
        relay.ensure_running()
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

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
        public_id = self.scope["url_route"]["kwargs"]["public_id"]
        visible = await database_sync_to_async(
            lambda: (
                selectors.incident_list(user=user).filter(public_id=public_id).exists()
            )
        )()
        return [incident_group(public_id)] if visible else None
