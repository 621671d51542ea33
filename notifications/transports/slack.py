"""Post a message to a Slack incoming webhook as Block Kit.

The payload is a header (the subject, plain text, at most 150 characters),
one or more sections holding `message.chat` converted to Slack's mrkdwn
(Slack takes at most 3000 characters per section: the text is split at line
breaks, and cut after `MAX_SECTIONS` sections), an actions block with URL
buttons for the acknowledge, resolve and incident links that are set, and a
context line (severity, incident id, drill). The top-level `text` is the
subject: Slack shows it in notifications and where blocks cannot be shown.

Slack answers 200 `ok`, or 4xx with a reason (`invalid_payload`,
`no_service`, `channel_is_archived`…) that is kept in the delivery log.
Incoming webhooks return no message id.
"""

from __future__ import annotations

import re
from typing import Any

from notifications import outbound
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
)

MAX_HEADER = 150
MAX_SECTION = 3000
MAX_SECTIONS = 10

_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def shorten(text: str, limit: int) -> str:
    """Return `text` cut to `limit` characters, with an ellipsis if cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def to_mrkdwn(markdown: str) -> str:
    """Return Markdown as Slack mrkdwn: escaped, links and bold rewritten."""
    text = markdown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _LINK.sub(lambda match: f"<{match[2]}|{match[1]}>", text)
    return _BOLD.sub(r"*\1*", text)


def split_sections(text: str, limit: int = MAX_SECTION) -> list[str]:
    """Return `text` in pieces of at most `limit` characters, cut at lines."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:  # one line longer than a section
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current.strip():
        pieces.append(current)
    pieces = [piece.strip("\n") for piece in pieces if piece.strip()]
    if len(pieces) > MAX_SECTIONS:
        pieces = pieces[:MAX_SECTIONS]
        pieces[-1] = shorten(pieces[-1], limit - 2) + "\n…"
    return pieces


def _button(label: str, url: str, action_id: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "url": url,
        "action_id": action_id,
    }
    if style:
        button["style"] = style
    return button


def build_payload(message: Message) -> dict[str, Any]:
    """Return the Block Kit payload for `message`."""
    subject = message.subject.strip() or "Vigil"
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": shorten(subject, MAX_HEADER)},
        }
    ]
    for piece in split_sections(to_mrkdwn(message.chat)):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": piece}})
    buttons = [
        _button(label, url, action_id, style)
        for label, url, action_id, style in (
            ("Acknowledge", message.acknowledge_url, "acknowledge", "primary"),
            ("Resolve", message.resolve_url, "resolve", ""),
            ("Open incident", message.incident_url, "open_incident", ""),
        )
        if url
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    context = [
        part
        for part in (
            "DRILL" if message.is_drill else "",
            f"Severity {message.severity}" if message.severity else "",
            message.incident_id,
            "Vigil",
        )
        if part
    ]
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": " · ".join(context)}],
        }
    )
    return {"text": subject, "blocks": blocks}


class SlackTransport(Transport):
    """Post to a Slack incoming webhook."""

    kind = "slack"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Post `message` to the webhook in `destination.address`."""
        response = outbound.request(
            "POST", destination.address, json=build_payload(message)
        )
        outbound.raise_for_status(response)
        return ProviderResult(
            status=response.status_code, body=outbound.excerpt(response)
        )

    def validate_address(self, address: str) -> str:
        """Return the webhook URL, or raise ValueError (https, public host)."""
        return outbound.validate_url(address)
