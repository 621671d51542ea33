"""The contract every transport keeps, run against every kind.

Each kind gets a `Provider`: a real local server playing its provider (an
HTTP receiver, or an SMTP server for e-mail) that can accept, fail in a
transient or permanent way, throttle, stall, or be down. The same cases then
run for every kind, so a new transport proves the contract by adding one
entry to `PROVIDERS`.

Two providers cannot say everything: SMTP has no Retry-After (a 421 is
transient without a delay), and Apprise reports only success or failure,
so its rejections are transient and its throttling carries no delay.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote_plus

import pytest

from notifications.models import Kind
from notifications.transports import TRANSPORTS, get_transport
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    TransportError,
)
from tests.notifications.servers import Answer, HTTPReceiver, SMTPReceiver

ACCOUNT = "AC" + "0" * 31 + "1"
KINDS = sorted(TRANSPORTS)


def test_every_kind_a_destination_can_name_has_exactly_one_transport():
    assert sorted(TRANSPORTS) == sorted(Kind.values)


class Provider(Protocol):
    """A local stand-in for a kind's provider."""

    kind: str
    rejections_are_permanent: bool
    throttle_delay: float | None

    def destination(self) -> Destination: ...
    def fail(self, *, transient: bool) -> None: ...
    def throttle(self, seconds: int) -> None: ...
    def stall(self, seconds: float) -> None: ...
    def go_down(self) -> None: ...
    def received(self) -> int: ...
    def sent_id(self) -> str: ...
    def sent_text(self) -> str: ...


@dataclass
class HTTPProvider:
    """A provider reached over HTTP, answering on one path."""

    kind: str
    receiver: HTTPReceiver
    path: str
    accepted: Answer
    provider_id: str = ""
    address: str = ""  # defaults to the receiver's URL of `path`
    secret: str = ""
    rejections_are_permanent: bool = True
    throttle_delay: float | None = 7

    def __post_init__(self) -> None:
        self.receiver.answer(self.path, self.accepted)

    def destination(self) -> Destination:
        address = self.address or self.receiver.url(self.path)
        return Destination(self.kind, address, self.secret)

    def fail(self, *, transient: bool) -> None:
        status = 500 if transient else 400
        body = {"code": 21211, "message": "failed", "status": status}
        self.receiver.answer(self.path, Answer(status, body))

    def throttle(self, seconds: int) -> None:
        body = {"code": 20429, "message": "Too Many Requests", "status": 429}
        headers = {"Retry-After": str(seconds)}
        self.receiver.answer(self.path, Answer(429, body, headers))

    def stall(self, seconds: float) -> None:
        self.receiver.answer(self.path, Answer(delay=seconds))

    def go_down(self) -> None:
        self.receiver.stop()

    def received(self) -> int:
        return len(self.receiver.requests_to(self.path))

    def sent_id(self) -> str:
        return self.provider_id

    def sent_text(self) -> str:
        return unquote_plus(self.receiver.requests_to(self.path)[0].body.decode())


@dataclass
class SMTPProvider:
    """The mail server, for e-mail."""

    server: SMTPReceiver
    kind: str = "email"
    rejections_are_permanent: bool = True
    throttle_delay: float | None = None

    def destination(self) -> Destination:
        return Destination("email", "oncall@example.org")

    def fail(self, *, transient: bool) -> None:
        self.server.reply = "451 4.3.0 Try again later" if transient else "550 5.7.1 No"

    def throttle(self, seconds: int) -> None:
        self.server.reply = "421 4.7.0 Too many messages, slow down"

    def stall(self, seconds: float) -> None:
        self.server.delay = seconds

    def go_down(self) -> None:
        self.server.stop()

    def received(self) -> int:
        return len(self.server.messages)

    def sent_id(self) -> str:
        return str(self.server.messages[0].message["Message-ID"])

    def sent_text(self) -> str:
        mail = self.server.messages[0].message
        return f"{mail['Subject']}\n{mail.get_body(('plain',)).get_content()}"


def _http_provider(kind: str, receiver: HTTPReceiver) -> HTTPProvider:
    twilio_path = f"/2010-04-01/Accounts/{ACCOUNT}/"
    if kind == "slack":
        return HTTPProvider(kind, receiver, "/services/T0/B0/abc", Answer(200, "ok"))
    if kind == "discord":
        return HTTPProvider(
            kind, receiver, "/api/webhooks/1/tok", Answer(200, {"id": "1100"}), "1100"
        )
    if kind == "teams":
        accepted = Answer(202, b"", {"x-ms-workflow-run-id": "08585"})
        return HTTPProvider(kind, receiver, "/workflows/run", accepted, "08585")
    if kind == "webhook":
        return HTTPProvider(kind, receiver, "/hook", Answer(204), secret="s3cret")
    if kind == "sms":
        accepted = Answer(201, {"sid": "SM123"})
        return HTTPProvider(
            kind, receiver, twilio_path + "Messages.json", accepted, "SM123",
            address="+14155550100",
        )  # fmt: skip
    if kind == "voice":
        accepted = Answer(201, {"sid": "CA123"})
        return HTTPProvider(
            kind, receiver, twilio_path + "Calls.json", accepted, "CA123",
            address="+14155550100",
        )  # fmt: skip
    assert kind == "apprise"
    return HTTPProvider(
        kind, receiver, "/apprise", Answer(200),
        address=f"json://127.0.0.1:{receiver.port}/apprise",
        rejections_are_permanent=False, throttle_delay=None,
    )  # fmt: skip


@pytest.fixture(params=KINDS)
def provider(
    request: pytest.FixtureRequest, settings: Any, allow_loopback: None
) -> Provider:
    """Return the local provider for each transport kind in turn."""
    kind: str = request.param
    if kind == "email":
        return SMTPProvider(request.getfixturevalue("smtp_server"))
    receiver: HTTPReceiver = request.getfixturevalue("http_receiver")
    settings.TWILIO_ACCOUNT_SID = ACCOUNT
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_BASE_URL = receiver.url("").rstrip("/")
    return _http_provider(kind, receiver)


def _send(provider: Provider, message: Message) -> ProviderResult:
    return get_transport(provider.kind).send(message, provider.destination())


def test_every_kind_is_registered_once() -> None:
    expected = {"email", "slack", "discord", "teams", "webhook", "sms", "voice"}
    assert set(KINDS) == expected | {"apprise"}


def test_an_accepted_message_returns_the_provider_result(
    provider: Provider, message: Message
) -> None:
    result = _send(provider, message)

    assert isinstance(result, ProviderResult)
    assert provider.received() == 1
    assert result.provider_id == provider.sent_id()


def test_a_drill_arrives_marked_drill_whatever_the_kind(
    provider: Provider, message: Message
) -> None:
    # As rendered for a drill: every format starts with the mark.
    drill = dataclasses.replace(
        message,
        is_drill=True,
        subject=f"[DRILL] {message.subject}",
        text=f"[DRILL] {message.text}",
        chat=f"[DRILL] {message.chat}",
        short=f"[DRILL] {message.short}",
    )
    _send(provider, drill)

    assert "[DRILL]" in provider.sent_text()


def test_a_provider_error_is_transient(provider: Provider, message: Message) -> None:
    provider.fail(transient=True)

    with pytest.raises(TransportError) as caught:
        _send(provider, message)

    assert caught.value.permanent is False


def test_a_provider_rejection_is_permanent(
    provider: Provider, message: Message
) -> None:
    provider.fail(transient=False)

    with pytest.raises(TransportError) as caught:
        _send(provider, message)

    assert caught.value.permanent is provider.rejections_are_permanent


def test_throttling_is_transient_and_says_when_to_retry(
    provider: Provider, message: Message
) -> None:
    provider.throttle(7)

    with pytest.raises(TransportError) as caught:
        _send(provider, message)

    assert caught.value.permanent is False
    assert caught.value.retry_after == provider.throttle_delay


def test_a_provider_slower_than_the_timeout_is_transient(
    provider: Provider, message: Message, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_TIMEOUT = 1
    provider.stall(5)
    started = time.monotonic()

    with pytest.raises(TransportError) as caught:
        _send(provider, message)

    assert caught.value.permanent is False
    assert time.monotonic() - started < 4


def test_an_unreachable_provider_is_transient(
    provider: Provider, message: Message
) -> None:
    provider.go_down()

    with pytest.raises(TransportError) as caught:
        _send(provider, message)

    assert caught.value.permanent is False


INVALID_ADDRESSES = {
    "email": ["", "oncall", "oncall@", "Ops <oncall@example.org>"],
    "slack": ["", "hooks.slack.com/services/x", "http://hooks.slack.com/x"],
    "discord": ["ftp://discord.com/api/webhooks/1/x", "https://10.0.0.1/hook"],
    "teams": ["not a url", "https://169.254.169.254/latest"],
    "webhook": ["https://127.0.0.2/hook", "javascript:alert(1)"],
    "sms": ["4155550100", "+1", "+1415555010012345", "+1-415-CALL-NOW"],
    "voice": ["0044 20 7946 0000", "+0 415 555 0100"],
    "apprise": ["", "nosuchservice://token", "json://a b"],
}


@pytest.mark.parametrize("kind", KINDS)
def test_an_invalid_address_is_refused_with_a_reason(
    kind: str, allow_loopback: None
) -> None:
    transport = get_transport(kind)
    assert INVALID_ADDRESSES[kind]
    for address in INVALID_ADDRESSES[kind]:
        with pytest.raises(ValueError, match=r"\w") as caught:
            transport.validate_address(address)
        assert str(caught.value), address


VALID_ADDRESSES = {
    "email": (" oncall@EXAMPLE.org ", "oncall@example.org"),
    "slack": ("https://hooks.slack.com/services/T/B/x", None),
    "discord": ("https://discord.com/api/webhooks/1/x", None),
    "teams": ("https://prod.westeurope.logic.azure.com/workflows/1", None),
    "webhook": ("http://127.0.0.1:9000/hook", None),  # http: allow-listed host
    "sms": ("+1 (415) 555-0100", "+14155550100"),
    "voice": ("+44 20 7946 0000", "+442079460000"),
    "apprise": ("ntfy://ntfy.example.org/vigil", None),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_valid_address_is_returned_normalised(
    kind: str, allow_loopback: None
) -> None:
    address, normalised = VALID_ADDRESSES[kind]

    assert get_transport(kind).validate_address(address) == (normalised or address)


def test_an_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="Unknown notification kind 'pager'"):
        get_transport("pager")
