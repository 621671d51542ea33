from __future__ import annotations

from dataclasses import replace

import pytest

from notifications.transports.base import Destination, Message, TransportError
from notifications.transports.discord import DiscordTransport, color_int
from tests.notifications.servers import Answer, HTTPReceiver

PATH = "/api/webhooks/123/token"


def test_the_webhook_gets_an_embed_and_returns_the_message_id(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    http_receiver.answer(PATH, Answer(200, {"id": "1234567890", "type": 0}))

    result = DiscordTransport().send(
        message, Destination("discord", http_receiver.url(PATH + "?thread_id=9"))
    )

    (received,) = http_receiver.requests_to(PATH)
    assert received.query == {"thread_id": ["9"], "wait": ["true"]}
    assert received.json == {
        "content": "[P1] Website down: checkout returns 502",
        "embeds": [
            {
                "title": "Website down: checkout returns 502",
                "description": message.chat,
                "color": 0xDC2626,
                "url": "https://vigil.example/incidents/INC-2025-03-14-001",
                "fields": [
                    {"name": "Severity", "value": "P1", "inline": True},
                    {"name": "Status", "value": "Investigating", "inline": True},
                    {"name": "Incident", "value": "INC-2025-03-14-001", "inline": True},
                    {
                        "name": "Actions",
                        "value": "[Acknowledge](https://vigil.example/a/ack-token)"
                        " · [Resolve](https://vigil.example/a/resolve-token)",
                        "inline": False,
                    },
                ],
                "footer": {"text": "Vigil · INC-2025-03-14-001"},
            }
        ],
        "allowed_mentions": {"parse": []},
    }
    assert result.provider_id == "1234567890"
    assert result.status == 200


def test_an_embed_without_links_or_incident_leaves_them_out(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    bare = replace(
        message,
        incident_url="",
        acknowledge_url="",
        resolve_url="",
        incident_id="",
        data={},
        kind="resolution",
        is_drill=True,
    )

    DiscordTransport().send(bare, Destination("discord", http_receiver.url(PATH)))

    (embed,) = http_receiver.requests_to(PATH)[0].json["embeds"]
    assert "url" not in embed
    assert [field["name"] for field in embed["fields"]] == ["Severity", "Status"]
    assert embed["fields"][1]["value"] == "Resolution"
    assert embed["footer"] == {"text": "Vigil · DRILL"}


@pytest.mark.parametrize(
    ("color", "expected"),
    [
        ("#dc2626", 0xDC2626),
        ("F59E0B", 0xF59E0B),
        ("red", 0x6B7280),
        ("#1000000", 0x6B7280),
    ],
)
def test_a_severity_colour_becomes_discords_integer(color: str, expected: int) -> None:
    assert color_int(color) == expected


def test_a_rate_limit_without_header_takes_the_delay_from_the_json_body(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    body = {
        "message": "You are being rate limited.",
        "retry_after": 2.5,
        "global": False,
    }
    http_receiver.answer(PATH, Answer(429, body))

    with pytest.raises(TransportError) as caught:
        DiscordTransport().send(
            message, Destination("discord", http_receiver.url(PATH))
        )

    assert caught.value.permanent is False
    assert caught.value.retry_after == 2.5
