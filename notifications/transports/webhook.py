"""POST a message as signed JSON to any URL (the generic webhook).

The body is one JSON object::

    {"kind", "delivery_id", "subject", "text", "severity",
     "incident": {"id", "title", "url"},
     "links": {"acknowledge", "resolve"},
     "is_drill", "data", "sent_at"}

and three headers let the receiver trust and de-duplicate it:

* `X-Vigil-Delivery`: the delivery id. A send whose answer was lost is sent
  again with the same id; drop the duplicates by it.
* `X-Vigil-Timestamp`: the signing time, in Unix seconds.
* `X-Vigil-Signature`: `t=<timestamp>,v1=<hex HMAC-SHA256>` of
  `f"{timestamp}."` followed by the raw body bytes, keyed with the channel's
  secret (the scheme Stripe uses). `verify_signature()` checks it, in
  constant time, and refuses timestamps further than `tolerance` seconds
  from now, so that a captured request cannot be replayed later.

A webhook without a secret is refused permanently: an unsigned alert
invites forgeries.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from notifications import outbound
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
    TransportError,
)

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300


def build_payload(message: Message, *, sent_at: datetime) -> dict[str, Any]:
    """Return the JSON object sent for `message`."""
    return {
        "kind": message.kind,
        "delivery_id": message.delivery_id,
        "subject": message.subject,
        "text": message.text,
        "severity": message.severity,
        "incident": {
            "id": message.incident_id,
            "title": message.title,
            "url": message.incident_url,
        },
        "links": {
            "acknowledge": message.acknowledge_url,
            "resolve": message.resolve_url,
        },
        "is_drill": message.is_drill,
        "data": message.data,
        "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
    }


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    """Return the `X-Vigil-Signature` value for `body` signed at `timestamp`."""
    digest = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={digest}"


def verify_signature(
    *,
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Return whether `header` signs `body` with `secret`, recently enough.

    Accept any of several `v1=` signatures (a secret being rotated), and
    refuse a timestamp more than `tolerance` seconds away from `now`.
    """
    if not secret:
        return False
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SIGNATURE_VERSION:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign(secret=secret, timestamp=timestamp, body=body).rpartition("=")[2]
    # Compare every candidate: the time taken must not depend on which matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    return any(matches)


class WebhookTransport(Transport):
    """POST signed JSON to a URL."""

    kind = "webhook"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """POST `message` to `destination.address`, signed with its secret."""
        if not destination.secret:
            raise TransportError(
                "This webhook has no signing secret; set one on the channel.",
                permanent=True,
            )
        now = time.time()
        timestamp = int(now)
        sent_at = datetime.fromtimestamp(now, tz=UTC)
        body = json.dumps(
            build_payload(message, sent_at=sent_at), separators=(",", ":"), default=str
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Vigil-Delivery": message.delivery_id,
            "X-Vigil-Timestamp": str(timestamp),
            "X-Vigil-Signature": sign(
                secret=destination.secret, timestamp=timestamp, body=body
            ),
        }
        response = outbound.request(
            "POST", destination.address, content=body, headers=headers
        )
        outbound.raise_for_status(response)
        return ProviderResult(
            status=response.status_code, body=outbound.excerpt(response)
        )

    def validate_address(self, address: str) -> str:
        """Return the URL, or raise ValueError (https, public host)."""
        return outbound.validate_url(address)
