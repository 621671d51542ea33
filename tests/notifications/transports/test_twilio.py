from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any
from xml.etree import ElementTree

import pytest

from notifications.transports.base import Destination, Message, TransportError
from notifications.transports.twilio import SmsTransport, VoiceTransport
from tests.notifications.servers import Answer, TwilioAPI

TO = "+14155550100"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_an_sms_posts_the_form_to_twilios_messages_resource(
    twilio_api: TwilioAPI, message: Message
) -> None:
    receiver = twilio_api.receiver
    receiver.answer(
        twilio_api.messages_path, Answer(201, {"sid": "SM0123", "status": "queued"})
    )

    result = SmsTransport().send(message, Destination("sms", TO))

    (received,) = receiver.requests_to(twilio_api.messages_path)
    assert received.method == "POST"
    assert received.headers["authorization"] == _basic(
        twilio_api.account_sid, twilio_api.auth_token
    )
    assert received.headers["content-type"] == "application/x-www-form-urlencoded"
    assert received.headers["host"] == f"127.0.0.1:{receiver.port}"
    assert received.form == {
        "To": [TO],
        "From": [twilio_api.from_number],
        "Body": ["P1 Website down: checkout 502. Reply ACK 4821"],
    }
    assert result.provider_id == "SM0123"
    assert result.status == 201


def test_a_call_says_the_short_text_twice_as_escaped_twiml(
    twilio_api: TwilioAPI, message: Message
) -> None:
    receiver = twilio_api.receiver
    receiver.answer(twilio_api.calls_path, Answer(201, {"sid": "CA0456"}))
    tricky = replace(message, short='P1 <Hangup/> & "quotes"\x07')

    result = VoiceTransport().send(tricky, Destination("voice", TO))

    (received,) = receiver.requests_to(twilio_api.calls_path)
    form = received.form
    assert form["To"] == [TO]
    assert form["From"] == [twilio_api.from_number]
    root = ElementTree.fromstring(form["Twiml"][0])  # noqa: S314 (ours)
    assert root.tag == "Response"
    assert [child.tag for child in root] == ["Say", "Pause", "Say"]
    assert [child.text for child in root.iter("Say")] == ['P1 <Hangup/> & "quotes"'] * 2
    assert root.find("Hangup") is None
    assert result.provider_id == "CA0456"


def test_twilios_error_message_and_status_reach_the_error(
    twilio_api: TwilioAPI, message: Message
) -> None:
    error = {
        "code": 21211,
        "message": "The 'To' number +14155550100 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    twilio_api.receiver.answer(twilio_api.messages_path, Answer(400, error))

    with pytest.raises(TransportError) as caught:
        SmsTransport().send(message, Destination("sms", TO))

    assert caught.value.permanent is True
    assert caught.value.status == 400
    assert "is not a valid phone number" in str(caught.value)
    assert '"code": 21211' in caught.value.body


@pytest.mark.parametrize(
    "missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"]
)
def test_missing_twilio_settings_are_permanent_and_named(
    twilio_api: TwilioAPI, settings: Any, message: Message, missing: str
) -> None:
    setattr(settings, missing, "")

    with pytest.raises(TransportError, match=missing) as caught:
        VoiceTransport().send(message, Destination("voice", TO))

    assert caught.value.permanent is True
    assert twilio_api.receiver.requests == []


def test_twilio_calls_go_through_the_outbound_guard(
    twilio_api: TwilioAPI, settings: Any, message: Message
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = []

    with pytest.raises(TransportError, match=r"127\.0\.0\.1") as caught:
        SmsTransport().send(message, Destination("sms", TO))

    assert caught.value.permanent is True
    assert twilio_api.receiver.requests == []
