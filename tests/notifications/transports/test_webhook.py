from __future__ import annotations

import time

import pytest

from notifications.transports.base import Destination, Message, TransportError
from notifications.transports.webhook import (
    WebhookTransport,
    sign,
    verify_signature,
)
from tests.notifications.servers import HTTPReceiver, Received

PATH = "/hooks/vigil"
SECRET = "whsec_test_secret"


def _send(receiver: HTTPReceiver, message: Message) -> Received:
    WebhookTransport().send(
        message, Destination("webhook", receiver.url(PATH), secret=SECRET)
    )
    (received,) = receiver.requests_to(PATH)
    return received


def test_the_receiver_gets_the_json_body_and_delivery_headers(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    before = int(time.time())

    received = _send(http_receiver, message)

    payload = received.json
    sent_at = payload.pop("sent_at")
    assert payload == {
        "kind": "page",
        "delivery_id": "0b7d6c1e-5a44-4f0e-9d3a-2f1c9e8b7a61",
        "subject": "[P1] Website down: checkout returns 502",
        "text": message.text,
        "severity": "P1",
        "incident": {
            "id": "INC-2025-03-14-001",
            "title": "Website down: checkout returns 502",
            "url": "https://vigil.example/incidents/INC-2025-03-14-001",
        },
        "links": {
            "acknowledge": "https://vigil.example/a/ack-token",
            "resolve": "https://vigil.example/a/resolve-token",
        },
        "is_drill": False,
        "data": {"status": "Investigating"},
    }
    assert sent_at.endswith("Z")
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-vigil-delivery"] == message.delivery_id
    timestamp = int(received.headers["x-vigil-timestamp"])
    assert before <= timestamp <= time.time()
    assert received.headers["x-vigil-signature"].startswith(f"t={timestamp},v1=")


def test_the_signature_verifies_over_the_raw_body(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    received = _send(http_receiver, message)
    header = received.headers["x-vigil-signature"]

    assert verify_signature(secret=SECRET, header=header, body=received.body)
    assert not verify_signature(secret="other", header=header, body=received.body)
    assert not verify_signature(
        secret=SECRET, header=header, body=received.body.replace(b"P1", b"P3")
    )


def test_a_replayed_old_signature_is_rejected(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    received = _send(http_receiver, message)
    header = received.headers["x-vigil-signature"]
    timestamp = int(received.headers["x-vigil-timestamp"])

    def verify(now: float) -> bool:
        return verify_signature(
            secret=SECRET, header=header, body=received.body, now=now
        )

    assert verify(timestamp + 300)
    assert not verify(timestamp + 301)
    assert not verify(timestamp - 301)  # from the future: a skewed or forged clock


@pytest.mark.parametrize(
    "header",
    ["", "v1=abc", "t=1700000000", "t=abc,v1=00", "t=1700000000,v0=00"],
)
def test_a_malformed_signature_header_is_rejected(header: str) -> None:
    assert not verify_signature(
        secret=SECRET, header=header, body=b"{}", now=1_700_000_000
    )


def test_any_of_several_signatures_may_match_while_a_secret_rotates() -> None:
    good = sign(secret=SECRET, timestamp=1_700_000_000, body=b"{}")
    header = f"t=1700000000,v1={'0' * 64},{good.split(',')[1]}"

    assert verify_signature(secret=SECRET, header=header, body=b"{}", now=1_700_000_000)


def test_a_webhook_without_a_secret_is_refused_before_sending(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    with pytest.raises(TransportError, match="no signing secret") as caught:
        WebhookTransport().send(
            message, Destination("webhook", http_receiver.url(PATH))
        )

    assert caught.value.permanent is True
    assert http_receiver.requests == []
