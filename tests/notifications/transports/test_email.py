from __future__ import annotations

from dataclasses import replace

import pytest

from notifications.transports.base import Destination, Message, TransportError
from notifications.transports.email import EmailTransport
from tests.notifications.servers import SMTPReceiver

TO = "oncall@example.org"


def test_the_mail_server_gets_subject_headers_and_plain_body(
    smtp_server: SMTPReceiver, message: Message
) -> None:
    result = EmailTransport().send(message, Destination("email", TO))

    (mail,) = smtp_server.messages
    assert mail.mail_from == "vigil@example.org"
    assert mail.rcpt_tos == [TO]
    sent = mail.message
    assert sent["Subject"] == "[P1] Website down: checkout returns 502"
    assert sent["From"] == "Vigil <vigil@example.org>"
    assert sent["To"] == TO
    assert sent["X-Vigil-Delivery"] == "0b7d6c1e-5a44-4f0e-9d3a-2f1c9e8b7a61"
    assert sent["Auto-Submitted"] == "auto-generated"
    assert sent["Message-ID"] == result.provider_id
    assert result.provider_id.startswith("<")
    assert result.provider_id.endswith("@example.org>")
    assert sent.get_content_type() == "text/plain"
    assert sent.get_content().replace("\r\n", "\n").rstrip("\n") == message.text


def test_a_multiline_subject_is_sent_on_one_line(
    smtp_server: SMTPReceiver, message: Message
) -> None:
    folded = replace(message, subject="[P1] Website down\r\nBcc: everyone@example.org")

    EmailTransport().send(folded, Destination("email", TO))

    (mail,) = smtp_server.messages
    assert mail.message["Subject"] == "[P1] Website down Bcc: everyone@example.org"
    assert mail.message["Bcc"] is None
    assert mail.rcpt_tos == [TO]


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [("550 5.1.1 No such user", True), ("450 4.2.1 Mailbox busy", False)],
)
def test_a_refused_recipient_follows_the_smtp_code(
    smtp_server: SMTPReceiver, message: Message, reply: str, permanent: bool
) -> None:
    smtp_server.rcpt_reply = reply

    with pytest.raises(TransportError) as caught:
        EmailTransport().send(message, Destination("email", TO))

    assert caught.value.permanent is permanent
    assert caught.value.status == int(reply[:3])
    assert reply[4:] in caught.value.body
    assert smtp_server.messages == []
