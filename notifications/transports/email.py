"""Send a message as an e-mail through Django's mail API (SMTP in production).

The subject is `message.subject` on one line, the body `message.text`. Every
mail carries `X-Vigil-Delivery` (the delivery id, so that a reply or a bounce
can be tied back to its delivery), `Auto-Submitted: auto-generated` (RFC 3834:
no out-of-office replies) and a Message-ID we make, which becomes the
provider id (its domain is the sender's).

Errors follow SMTP's own split: a 5xx reply (a refused recipient, a rejected
message, bad credentials) is permanent, a 4xx reply is transient, and so are
a refused connection, a dropped one and a timeout. The SMTP server is the
operator's configuration (`EMAIL_*`), never user input, so it does not go
through the outbound-HTTP guard; `VIGIL_OUTBOUND_TIMEOUT` bounds it too.
"""

from __future__ import annotations

import smtplib
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
    TransportError,
)

MAX_SUBJECT = 200


def single_line(text: str, limit: int = MAX_SUBJECT) -> str:
    """Return `text` on one line (headers cannot hold a newline), shortened."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _smtp_error(code: int, detail: str) -> TransportError:
    """Return the transport error for an SMTP reply `code`."""
    return TransportError(
        f"The mail server answered {code}: {detail}",
        permanent=not 400 <= code < 500,
        status=code,
        body=detail[:1000],
    )


def _reply_text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


class EmailTransport(Transport):
    """Send through the configured e-mail backend (SMTP in production)."""

    kind = "email"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Send `message` as one e-mail to `destination.address`."""
        sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
        message_id = make_msgid(domain=sender.rpartition("@")[2] or "vigil")
        mail = EmailMultiAlternatives(
            subject=single_line(message.subject),
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[destination.address],
            headers={
                "Message-ID": message_id,
                "X-Vigil-Delivery": message.delivery_id,
                "Auto-Submitted": "auto-generated",
            },
        )
        connection = get_connection(timeout=settings.VIGIL_OUTBOUND_TIMEOUT)
        try:
            sent = connection.send_messages([mail])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (550, b"refused"))
            raise _smtp_error(code, _reply_text(reply)) from exc
        except smtplib.SMTPResponseException as exc:
            raise _smtp_error(exc.smtp_code, _reply_text(exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Refused or dropped connections and timeouts (TimeoutError is an
            # OSError) say nothing about the message: try again later.
            raise TransportError(
                f"Cannot reach the mail server: {exc!r}", permanent=False
            ) from exc
        if not sent:
            raise TransportError("The mail backend sent nothing.", permanent=False)
        return ProviderResult(provider_id=message_id)

    def validate_address(self, address: str) -> str:
        """Return the address with its domain lower-cased, or raise ValueError."""
        address = address.strip()
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValueError(f"{address!r} is not a valid e-mail address.") from exc
        local, _, domain = address.rpartition("@")
        return f"{local}@{domain.lower()}"
