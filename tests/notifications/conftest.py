"""Fixtures for notification tests: local providers and outbound settings.

* `http_receiver` — a started `HTTPReceiver` on 127.0.0.1 (random port):
  every request is recorded in `.requests` (method, path, query, headers,
  raw body, `.json`, `.form`); `.answer(path, Answer(...), ...)` sets what a
  path answers (status, headers, body, delay), in sequence.
* `make_http_receiver(host="127.0.0.1", keep_alive=False)` — start more
  receivers, e.g. on 127.0.0.2 or ::1, or one that keeps connections open.
  All are stopped at teardown.
* `smtp_server` — a started `SMTPReceiver` (aiosmtpd) on 127.0.0.1 with
  Django's EMAIL_* settings pointing at it; messages land in `.messages`,
  `.reply = "451 ..."` makes it refuse DATA, `.rcpt_reply` refuses recipients.
* `allow_loopback` — allow-lists 127.0.0.1/32 (only) for outbound requests.
* `twilio_api` — Twilio settings aimed at `http_receiver` (with
  `allow_loopback`); returns the paths Twilio's API would be called on.
* `message` — a typical rendered page.

An autouse guard fails any test of this package that connects to an
address outside 127.0.0.0/8 and ::1.

Example::

    def test_slack_post(http_receiver, allow_loopback, message):
        http_receiver.answer("/hook", Answer(200, "ok"))
        SlackTransport().send(message, Destination("slack", http_receiver.url("/hook")))
        assert http_receiver.requests_to("/hook")[0].json["text"] == message.subject
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from notifications.transports.base import Message
from tests.notifications.servers import HTTPReceiver, SMTPReceiver, TwilioAPI


def _is_loopback(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return all(
        ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
        for info in infos
    )


@pytest.fixture(autouse=True)
def _no_remote_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any connect to an address that is not loopback."""
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: Any) -> None:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6)
        if inet and not _is_loopback(str(address[0])):
            pytest.fail(f"A test tried to connect to {address[0]}.")

    def connect(sock: socket.socket, address: Any) -> None:
        check(sock, address)
        original_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(sock, address)
        return original_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
def allow_loopback(settings: Any) -> None:
    """Allow outbound requests to 127.0.0.1 (and no other private address)."""
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["127.0.0.1/32"]


@pytest.fixture
def make_http_receiver() -> Iterator[Callable[..., HTTPReceiver]]:
    """Return a function that starts an `HTTPReceiver` on a loopback host."""
    started: list[HTTPReceiver] = []

    def make(host: str = "127.0.0.1", *, keep_alive: bool = False) -> HTTPReceiver:
        receiver = HTTPReceiver(host, keep_alive=keep_alive).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture
def http_receiver(make_http_receiver: Callable[..., HTTPReceiver]) -> HTTPReceiver:
    """Return a started HTTP receiver on 127.0.0.1 (see `servers.HTTPReceiver`)."""
    return make_http_receiver()


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SMTPReceiver]:
    """Return a started SMTP server, with Django's mail settings aimed at it."""
    server = SMTPReceiver().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "Vigil <vigil@example.org>"
    yield server
    server.stop()


@pytest.fixture
def twilio_api(
    settings: Any, http_receiver: HTTPReceiver, allow_loopback: None
) -> TwilioAPI:
    """Aim the Twilio settings at `http_receiver` and return the API's paths."""
    api = TwilioAPI(
        account_sid="AC" + "0" * 31 + "1",
        auth_token="token-123",
        from_number="+15005550006",
        receiver=http_receiver,
    )
    settings.TWILIO_ACCOUNT_SID = api.account_sid
    settings.TWILIO_AUTH_TOKEN = api.auth_token
    settings.TWILIO_FROM_NUMBER = api.from_number
    settings.TWILIO_BASE_URL = http_receiver.url("").rstrip("/")
    return api


@pytest.fixture
def message() -> Message:
    """Return a rendered page about a P1 incident."""
    return Message(
        subject="[P1] Website down: checkout returns 502",
        text="Checkout returns 502 since 09:12 UTC.\n\n"
        "Acknowledge: https://vigil.example/a/ack-token",
        chat="**Checkout returns 502** since 09:12 UTC.\n"
        "See [the runbook](https://runbooks.example/checkout).",
        short="P1 Website down: checkout 502. Reply ACK 4821",
        kind="page",
        severity="P1",
        severity_color="#dc2626",
        title="Website down: checkout returns 502",
        incident_id="INC-2025-03-14-001",
        incident_url="https://vigil.example/incidents/INC-2025-03-14-001",
        acknowledge_url="https://vigil.example/a/ack-token",
        resolve_url="https://vigil.example/a/resolve-token",
        delivery_id="0b7d6c1e-5a44-4f0e-9d3a-2f1c9e8b7a61",
        data={"status": "Investigating"},
    )
