"""Post a message to a Discord webhook as an embed.

`content` is the subject (what Discord shows in the notification); the embed
carries the title, `message.chat` as its description (Discord renders the
Markdown), the severity colour as an integer, a link to the incident, fields
for severity, status and the action links, and a footer with the incident
id. `allowed_mentions: {"parse": []}` keeps text such as `@everyone` from
pinging anybody: who is paged is Vigil's decision, not the template's.

The URL gets `?wait=true` so that Discord answers 200 with the message it
created, whose id becomes the provider id. Discord's 429 carries the delay
both in `Retry-After` and as `retry_after` (seconds, a float) in its JSON
body; the header wins when both are present.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from notifications import outbound
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
    TransportError,
)

MAX_CONTENT = 2000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELD = 1024
DEFAULT_COLOR = 0x6B7280


def shorten(text: str, limit: int) -> str:
    """Return `text` cut to `limit` characters, with an ellipsis if cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def color_int(color: str) -> int:
    """Return a `#rrggbb` colour as the integer Discord expects."""
    try:
        value = int(color.strip().lstrip("#"), 16)
    except ValueError:
        return DEFAULT_COLOR
    return value if 0 <= value <= 0xFFFFFF else DEFAULT_COLOR


def _fields(message: Message) -> list[dict[str, Any]]:
    status = str(message.data.get("status", "")) or message.kind.capitalize()
    links = " · ".join(
        f"[{label}]({url})"
        for label, url in (
            ("Acknowledge", message.acknowledge_url),
            ("Resolve", message.resolve_url),
        )
        if url
    )
    fields = (
        ("Severity", message.severity, True),
        ("Status", status, True),
        ("Incident", message.incident_id, True),
        ("Actions", links, False),
    )
    return [
        {"name": name, "value": shorten(value, MAX_FIELD), "inline": inline}
        for name, value, inline in fields
        if value
    ]


def build_payload(message: Message) -> dict[str, Any]:
    """Return the webhook payload for `message`."""
    drill = "DRILL" if message.is_drill else ""
    footer = " · ".join(part for part in ("Vigil", message.incident_id, drill) if part)
    embed: dict[str, Any] = {
        "title": shorten(message.title or message.subject, MAX_TITLE),
        "description": shorten(message.chat, MAX_DESCRIPTION),
        "color": color_int(message.severity_color),
        "fields": _fields(message),
        "footer": {"text": footer},
    }
    if message.incident_url:
        embed["url"] = message.incident_url
    return {
        "content": shorten(message.subject, MAX_CONTENT),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class DiscordTransport(Transport):
    """Post to a Discord webhook."""

    kind = "discord"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Post `message` to the webhook and return the created message's id."""
        url = outbound.parse_url(destination.address).copy_merge_params(
            {"wait": "true"}
        )
        response = outbound.request("POST", str(url), json=build_payload(message))
        try:
            outbound.raise_for_status(response)
        except TransportError as exc:
            if exc.status == 429 and exc.retry_after is None:
                retry_after = _json(response).get("retry_after")
                if isinstance(retry_after, int | float):
                    exc.retry_after = max(0.0, float(retry_after))
            raise
        return ProviderResult(
            status=response.status_code,
            provider_id=str(_json(response).get("id", "")),
            body=outbound.excerpt(response),
        )

    def validate_address(self, address: str) -> str:
        """Return the webhook URL, or raise ValueError (https, public host)."""
        return outbound.validate_url(address)
