"""The contract every notification transport keeps.

A transport turns one rendered `Message` into one request to one provider for
one `Destination`. It returns a `ProviderResult` when the provider accepted
the message, or raises `TransportError`: `permanent=True` when sending again
cannot help (a 4xx, a bad address), `permanent=False` when it may (a timeout,
a 5xx, a 429, whose `retry_after` says when). Transports keep no state and
never touch the database: the delivery log around them does that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Message:
    """What to say, already rendered from the templates for every format."""

    # `chat` is Markdown for Slack/Discord/Teams; `text` is the plain body of
    # an email or webhook; `short` fits an SMS and is what a voice call reads.
    subject: str
    text: str
    chat: str
    short: str
    # What the message is about, for transports that add structure
    # (colour by severity, a title, buttons).
    kind: str = "page"  # page, initial, update, resolution, verification, test
    severity: str = ""
    severity_color: str = "#6b7280"
    title: str = ""
    incident_id: str = ""  # the public id, INC-YYYY-MM-DD-NNN
    incident_url: str = ""
    acknowledge_url: str = ""
    resolve_url: str = ""
    is_drill: bool = False
    # A stable id of the delivery: webhooks send it so that a receiver can
    # drop the duplicate of an ambiguous send (see docs/notifications.md).
    delivery_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Destination:
    """Where to send: an address in the form its kind expects.

    email: an address; sms/voice: an E.164 number; slack/discord/teams/
    webhook: the webhook URL; apprise: an Apprise URL. `secret` signs
    generic webhooks.
    """

    kind: str
    address: str
    secret: str = ""


@dataclass(frozen=True)
class ProviderResult:
    """The provider's answer to an accepted message, kept in the delivery log."""

    status: int | None = None
    provider_id: str = ""
    body: str = ""


class TransportError(Exception):
    """The provider did not take the message."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        retry_after: float | None = None,
        body: str = "",
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status
        self.retry_after = retry_after
        self.body = body


class Transport:
    """One kind of destination. Subclasses set `kind` and implement `send`."""

    kind: ClassVar[str]

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Send `message` to `destination`; raise `TransportError` if not taken."""
        raise NotImplementedError

    def validate_address(self, address: str) -> str:
        """Return the address normalised, or raise ValueError saying why not."""
        raise NotImplementedError
