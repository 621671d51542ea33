"""Post a message to Microsoft Teams as an Adaptive Card.

The card travels in the "message" envelope that both Power Automate
Workflows ("Post to a channel when a webhook request is received") and the
older Office 365 connectors accept: `{"type": "message", "attachments":
[{"contentType": "application/vnd.microsoft.card.adaptive", "content":
<card>}]}`. Adaptive Cards 1.4 is the newest version Teams renders
everywhere.

The card's body is the subject as a large bold TextBlock coloured by
severity (`attention` for P0/P1, `warning` for P2, `accent` otherwise,
`good` for a resolution), `message.chat` as a wrapping TextBlock (Teams
renders its Markdown subset), and a FactSet of severity, incident and
status. Acknowledge, Resolve and Open incident are `Action.OpenUrl`
buttons. Workflows answer 202 with an empty body; the run id they return in
`x-ms-workflow-run-id` is the provider id (connectors return none).
"""

from __future__ import annotations

from typing import Any

from notifications import outbound
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
)

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_TEXT = 20_000  # Teams refuses messages above ~28 KB.
SEVERITY_COLORS = {"P0": "attention", "P1": "attention", "P2": "warning"}


def shorten(text: str, limit: int) -> str:
    """Return `text` cut to `limit` characters, with an ellipsis if cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def card_color(message: Message) -> str:
    """Return the Adaptive Card colour name for the message's severity."""
    if message.kind == "resolution":
        return "good"
    return SEVERITY_COLORS.get(message.severity.upper(), "accent")


def _facts(message: Message) -> list[dict[str, str]]:
    status = str(message.data.get("status", "")) or message.kind.capitalize()
    facts = [
        ("Severity", message.severity),
        ("Incident", message.incident_id),
        ("Status", status),
        ("Drill", "Yes" if message.is_drill else ""),
    ]
    return [{"title": title, "value": value} for title, value in facts if value]


def build_card(message: Message) -> dict[str, Any]:
    """Return the Adaptive Card for `message`."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": message.subject or "Vigil",
            "size": "Large",
            "weight": "Bolder",
            "color": card_color(message),
            "wrap": True,
        },
        {"type": "TextBlock", "text": shorten(message.chat, MAX_TEXT), "wrap": True},
    ]
    facts = _facts(message)
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    actions = [
        {"type": "Action.OpenUrl", "title": title, "url": url}
        for title, url in (
            ("Acknowledge", message.acknowledge_url),
            ("Resolve", message.resolve_url),
            ("Open incident", message.incident_url),
        )
        if url
    ]
    return {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
    }


def build_payload(message: Message) -> dict[str, Any]:
    """Return the "message" envelope around the card for `message`."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": build_card(message),
            }
        ],
    }


class TeamsTransport(Transport):
    """Post to a Teams Workflows (or connector) webhook."""

    kind = "teams"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Post `message` as an Adaptive Card to `destination.address`."""
        response = outbound.request(
            "POST", destination.address, json=build_payload(message)
        )
        outbound.raise_for_status(response)
        return ProviderResult(
            status=response.status_code,
            provider_id=response.headers.get("x-ms-workflow-run-id", ""),
            body=outbound.excerpt(response),
        )

    def validate_address(self, address: str) -> str:
        """Return the webhook URL, or raise ValueError (https, public host)."""
        return outbound.validate_url(address)
