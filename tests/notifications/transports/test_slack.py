from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from notifications.transports.base import Destination, Message, TransportError
from notifications.transports.slack import SlackTransport, split_sections
from tests.notifications.servers import Answer, HTTPReceiver

PATH = "/services/T000/B000/XXXX"


def _send(receiver: HTTPReceiver, message: Message) -> Any:
    SlackTransport().send(message, Destination("slack", receiver.url(PATH)))
    (received,) = receiver.requests_to(PATH)
    assert received.method == "POST"
    assert received.headers["content-type"] == "application/json"
    return received.json


def test_the_webhook_gets_block_kit_with_buttons_and_a_fallback_text(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    payload = _send(http_receiver, message)

    assert payload == {
        "text": "[P1] Website down: checkout returns 502",
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": "[P1] Website down: checkout returns 502",
                },
            },
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*Checkout returns 502* since 09:12 UTC.\n"
                    "See <https://runbooks.example/checkout|the runbook>.",
                },
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                        "url": "https://vigil.example/a/ack-token",
                        "action_id": "acknowledge",
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Resolve"},
                        "url": "https://vigil.example/a/resolve-token",
                        "action_id": "resolve",
                    },
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open incident"},
                        "url": "https://vigil.example/incidents/INC-2025-03-14-001",
                        "action_id": "open_incident",
                    },
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Severity P1 · INC-2025-03-14-001 · Vigil",
                    }
                ],
            },
        ],
    }


def test_a_message_without_links_has_no_actions_and_a_drill_says_so(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    drill = replace(
        message,
        acknowledge_url="",
        resolve_url="",
        incident_url="",
        is_drill=True,
        chat="a < b & c > d",
    )

    blocks = _send(http_receiver, drill)["blocks"]

    assert [block["type"] for block in blocks] == ["header", "section", "context"]
    assert blocks[1]["text"]["text"] == "a &lt; b &amp; c &gt; d"
    assert blocks[2]["elements"][0]["text"].startswith("DRILL · ")


def test_a_long_subject_and_chat_fit_slack_limits(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    lines = [f"line {number:04d} " + "x" * 90 for number in range(100)]
    long = replace(message, subject="S" * 400, chat="\n".join(lines))

    blocks = _send(http_receiver, long)["blocks"]

    header = blocks[0]["text"]["text"]
    assert len(header) == 150
    assert header.endswith("…")
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 4
    assert all(len(text) <= 3000 for text in sections)
    assert "\n".join(sections) == "\n".join(lines)  # cut at line breaks only


def test_text_beyond_ten_sections_is_cut_with_an_ellipsis() -> None:
    sections = split_sections("y" * 40_000)

    assert len(sections) == 10
    assert all(len(text) <= 3000 for text in sections)
    assert sections[-1].endswith("\n…")


def test_slacks_refusal_reason_is_kept_in_the_error(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    http_receiver.answer(PATH, Answer(404, "no_service"))

    with pytest.raises(TransportError) as caught:
        _send(http_receiver, message)

    assert caught.value.permanent is True
    assert caught.value.status == 404
    assert caught.value.body == "no_service"
