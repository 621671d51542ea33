from __future__ import annotations

from dataclasses import replace

import pytest

from notifications.transports.base import Destination, Message
from notifications.transports.teams import TeamsTransport, card_color
from tests.notifications.servers import Answer, HTTPReceiver

PATH = "/workflows/abc/triggers/manual/paths/invoke"


def test_the_workflow_gets_an_adaptive_card_in_a_message_envelope(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    http_receiver.answer(PATH, Answer(202, b"", {"x-ms-workflow-run-id": "0858"}))

    result = TeamsTransport().send(
        message, Destination("teams", http_receiver.url(PATH))
    )

    (received,) = http_receiver.requests_to(PATH)
    assert received.json == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "[P1] Website down: checkout returns 502",
                            "size": "Large",
                            "weight": "Bolder",
                            "color": "attention",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": message.chat, "wrap": True},
                        {
                            "type": "FactSet",
                            "facts": [
                                {"title": "Severity", "value": "P1"},
                                {"title": "Incident", "value": "INC-2025-03-14-001"},
                                {"title": "Status", "value": "Investigating"},
                            ],
                        },
                    ],
                    "actions": [
                        {
                            "type": "Action.OpenUrl",
                            "title": "Acknowledge",
                            "url": "https://vigil.example/a/ack-token",
                        },
                        {
                            "type": "Action.OpenUrl",
                            "title": "Resolve",
                            "url": "https://vigil.example/a/resolve-token",
                        },
                        {
                            "type": "Action.OpenUrl",
                            "title": "Open incident",
                            "url": "https://vigil.example/incidents/INC-2025-03-14-001",
                        },
                    ],
                },
            }
        ],
    }
    assert result.status == 202
    assert result.provider_id == "0858"


@pytest.mark.parametrize(
    ("severity", "kind", "color"),
    [
        ("P0", "page", "attention"),
        ("P1", "update", "attention"),
        ("P2", "page", "warning"),
        ("P3", "page", "accent"),
        ("", "test", "accent"),
        ("P0", "resolution", "good"),
    ],
)
def test_the_title_colour_follows_severity_and_resolution(
    message: Message, severity: str, kind: str, color: str
) -> None:
    assert card_color(replace(message, severity=severity, kind=kind)) == color
