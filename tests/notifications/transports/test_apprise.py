from __future__ import annotations

import socket
from types import SimpleNamespace
from typing import Any

import pytest

from notifications import outbound
from notifications.transports.apprise import AppriseTransport
from notifications.transports.base import Destination, Message, TransportError
from tests.notifications.servers import Answer, HTTPReceiver, SMTPReceiver


def _destination(receiver: HTTPReceiver, path: str = "/apprise") -> Destination:
    return Destination("apprise", f"json://127.0.0.1:{receiver.port}{path}")


def test_a_json_url_gets_the_subject_as_title_and_the_chat_as_body(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    AppriseTransport().send(message, _destination(http_receiver))

    (received,) = http_receiver.requests_to("/apprise")
    assert received.method == "POST"
    payload = received.json
    assert payload["title"] == message.subject
    assert payload["message"] == message.chat
    assert payload["type"] == "info"


def test_a_failure_is_transient_and_keeps_what_apprise_logged(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message
) -> None:
    http_receiver.answer("/apprise", Answer(400, "bad"))

    with pytest.raises(TransportError) as caught:
        AppriseTransport().send(message, _destination(http_receiver))

    assert caught.value.permanent is False  # Apprise does not tell 400 from 500
    assert "400" in caught.value.body


@pytest.mark.parametrize("query", ["", "?redirect=yes"])
def test_apprise_does_not_follow_redirects_even_if_the_url_asks(
    http_receiver: HTTPReceiver, allow_loopback: None, message: Message, query: str
) -> None:
    http_receiver.answer("/apprise", Answer(302, b"", {"Location": "/elsewhere"}))

    with pytest.raises(TransportError):
        AppriseTransport().send(
            message, _destination(http_receiver, "/apprise" + query)
        )

    assert len(http_receiver.requests_to("/apprise")) == 1
    assert http_receiver.requests_to("/elsewhere") == []


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:9/x",
        "json://localhost:9/x",
        "json://[::1]:9/x",
        "xml://169.254.169.254/latest/meta-data",
        "ntfy://10.0.0.1/alerts",
        "gotify://192.168.1.10/token",
        "mailto://user:pw@93.184.215.14:2525?smtp=127.0.0.1&to=ops@example.org",
        "mailtos://user:pw@example.org?smtp=10.0.0.25",
        "mailto://user:pw@localhost",
    ],
)
def test_private_hosts_are_refused_before_apprise_connects(
    url: str, message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_connect(*args: Any, **kwargs: Any) -> None:
        pytest.fail("Apprise tried to connect")

    monkeypatch.setattr(socket, "create_connection", no_connect)

    with pytest.raises(TransportError, match="not a public address") as caught:
        AppriseTransport().send(message, Destination("apprise", url))

    assert caught.value.permanent is True


@pytest.mark.parametrize(
    "url",
    [
        "mailto://user:pw@93.184.215.14:2525?smtp=127.0.0.1&to=ops@example.org",
        "xml://169.254.169.254/latest/meta-data",
        "json://[::1]:9/x",
    ],
)
def test_a_private_target_is_refused_when_the_url_is_entered(url: str) -> None:
    with pytest.raises(ValueError, match="not a public address"):
        AppriseTransport().validate_address(url)


@pytest.mark.parametrize(
    "url",
    [
        "syslog://",
        "windows://",
        "zulip://bot@10.1.2.3/" + "t" * 32,
        "matrix://user:pw@matrix.example.org/#room",
    ],
)
def test_plugins_whose_targets_are_unknown_are_refused_on_entry_and_on_send(
    url: str, message: Message
) -> None:
    with pytest.raises(ValueError, match="not accepted here"):
        AppriseTransport().validate_address(url)

    with pytest.raises(TransportError, match="not accepted here") as caught:
        AppriseTransport().send(message, Destination("apprise", url))
    assert caught.value.permanent is True


@pytest.mark.parametrize(
    "url",
    [
        "mailtos://user:pw@example.org?to=ops@example.org&pgppub=/etc/passwd",
        "mailtos://user:pw@example.org?to=ops@example.org&pgpprv=/etc/shadow",
        "mailtos://user:pw@example.org?to=ops@example.org&wkd=yes",
        "mailtos://user:pw@example.org?to=ops@example.org&PGP=encrypt",
        "discord://123456/abcdefg?template=/etc/passwd",
        "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ?template=file:///etc/passwd",
        "tgram://123456789:abcdefg_hijklmnop/12315544?template=http://10.0.0.1/t.json",
    ],
)
def test_parameters_that_read_files_or_fetch_from_elsewhere_are_refused(
    url: str, message: Message
) -> None:
    with pytest.raises(ValueError, match="read files or fetch keys"):
        AppriseTransport().validate_address(url)

    with pytest.raises(TransportError, match="read files or fetch keys") as caught:
        AppriseTransport().send(message, Destination("apprise", url))
    assert caught.value.permanent is True


def test_mail_through_an_allow_listed_smtp_server_arrives(
    smtp_server: SMTPReceiver, allow_loopback: None, message: Message
) -> None:
    url = (
        f"mailto://example.org:{smtp_server.port}"
        "?smtp=127.0.0.1&mode=insecure&from=vigil@example.org&to=ops@example.org"
    )

    AppriseTransport().send(message, Destination("apprise", url))

    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == ["ops@example.org"]
    assert mail.message["Subject"] == message.subject


def test_the_smtp_override_cannot_reach_a_local_port(
    smtp_server: SMTPReceiver, message: Message, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = []
    url = (
        f"mailto://vigil:pw@93.184.215.14:{smtp_server.port}"
        "?smtp=127.0.0.1&mode=insecure&from=vigil@example.org&to=ops@example.org"
    )

    with pytest.raises(TransportError, match=r"127\.0\.0\.1 at") as caught:
        AppriseTransport().send(message, Destination("apprise", url))

    assert caught.value.permanent is True
    assert smtp_server.messages == []


def test_an_allow_list_entry_with_a_port_does_not_open_the_hosts_other_ports(
    smtp_server: SMTPReceiver, message: Message, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["127.0.0.1:8025"]
    url = (
        f"mailto://vigil:pw@127.0.0.1:{smtp_server.port}"
        "?mode=insecure&from=vigil@example.org&to=ops@example.org"
    )

    with pytest.raises(TransportError, match="not a public address"):
        AppriseTransport().send(message, Destination("apprise", url))

    assert smtp_server.messages == []


def test_a_token_in_the_host_slot_is_never_resolved(
    message: Message, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []

    def check_host(host: str, port: int) -> tuple[Any, ...]:
        looked_up.append(host)
        return ()

    monkeypatch.setattr(outbound, "check_host", check_host)
    sent = SimpleNamespace(results=())  # truthy: what a success looks like
    monkeypatch.setattr("apprise.Apprise.notify", lambda self, **kwargs: sent)

    AppriseTransport().send(
        message, Destination("apprise", "pover://userkey1234@apptoken5678")
    )
    AppriseTransport().send(
        message, Destination("apprise", "json://hooks.example.org/x")
    )

    assert looked_up == ["hooks.example.org"]
