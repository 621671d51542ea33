"""The registry of notification transports: one per kind of destination.

`get_transport(kind)` returns the transport for a kind. The kinds and their
labels are `notifications.models.Kind`, the one source of truth; every kind
there has one transport here. Every transport keeps the contract of
`notifications.transports.base`.
"""

from __future__ import annotations

from notifications.transports.apprise import AppriseTransport
from notifications.transports.base import Transport
from notifications.transports.discord import DiscordTransport
from notifications.transports.email import EmailTransport
from notifications.transports.slack import SlackTransport
from notifications.transports.teams import TeamsTransport
from notifications.transports.twilio import SmsTransport, VoiceTransport
from notifications.transports.webhook import WebhookTransport

# Transports keep no state, so one instance of each serves every send.
TRANSPORTS: dict[str, Transport] = {
    transport.kind: transport
    for transport in (
        EmailTransport(),
        SlackTransport(),
        DiscordTransport(),
        TeamsTransport(),
        WebhookTransport(),
        SmsTransport(),
        VoiceTransport(),
        AppriseTransport(),
    )
}


def get_transport(kind: str) -> Transport:
    """Return the transport for `kind`, or raise ValueError naming the known ones."""
    try:
        return TRANSPORTS[kind]
    except KeyError:
        known = ", ".join(TRANSPORTS)
        raise ValueError(
            f"Unknown notification kind {kind!r}; expected one of: {known}."
        ) from None


__all__ = ["TRANSPORTS", "Transport", "get_transport"]
