"""Send SMS and voice calls through Twilio (the `twilio` library, 9.x).

The library builds and parses the API calls; `OutboundHttpClient` (a
`twilio.http.HttpClient`) sends them through `notifications.outbound`, so the
SSRF guard, the timeouts and the local test servers apply to Twilio too.

The API's address comes from `settings.TWILIO_BASE_URL`. In twilio 9.x each
API domain is a `twilio.base.domain.Domain` whose `base_url` attribute
("https://api.twilio.com" for `client.api`, set in `ApiBase.__init__`) is
joined with the resource path in `Domain.absolute_url()`. We set
`client.api.base_url` on every new client, and clear `client.edge` and
`client.region`, which `ClientBase.get_hostname()` would otherwise fill in
from the TWILIO_EDGE/TWILIO_REGION environment variables by rewriting the
host name: an edge or a region is chosen by TWILIO_BASE_URL instead
(e.g. https://api.dublin.ie1.twilio.com).

An SMS says `message.short`; a call says it twice (TwiML). The provider id is
the SID. Twilio's errors of status 429 or 5xx are transient (with the answer's
Retry-After), others permanent. Missing TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
or TWILIO_FROM_NUMBER fails permanently, naming what is missing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
from django.conf import settings
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from notifications import outbound
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
    TransportError,
)

E164 = re.compile(r"\+[1-9]\d{6,14}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML
logger = logging.getLogger(__name__)


class OutboundHttpClient(HttpClient):
    """Send Twilio's calls through `notifications.outbound` (its timeout, too)."""

    def __init__(self) -> None:
        super().__init__(logger, is_async=False)
        self.last_response: httpx.Response | None = None

    def request(
        self,
        method: str,
        uri: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Send one API call and return it as the library expects."""
        query = tuple(
            (key, str(item))
            for key, value in (params or {}).items()
            for item in (value if isinstance(value, list | tuple) else [value])
        )
        url = outbound.parse_url(uri).copy_merge_params(query)
        response = outbound.request(
            method,
            str(url),
            data=data,
            headers=headers,
            auth=auth,
            follow_redirects=allow_redirects,
        )
        self.last_response = response
        return TwilioResponse(response.status_code, response.text, response.headers)


def _client() -> tuple[Any, OutboundHttpClient]:
    names = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")
    missing = [name for name in names if not getattr(settings, name, "")]
    if missing:
        raise TransportError(
            f"Twilio is not configured: set {', '.join(missing)}.", permanent=True
        )
    http_client = OutboundHttpClient()
    client = Client(
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        account_sid=settings.TWILIO_ACCOUNT_SID,
        http_client=http_client,
    )
    client.edge = client.region = None
    client.api.base_url = settings.TWILIO_BASE_URL
    return client, http_client


def say_twice(text: str) -> str:
    """Return TwiML that says `text`, pauses, and says it again."""
    text = _CONTROL.sub("", text)
    response = VoiceResponse()
    response.say(text)
    response.pause(length=1)
    response.say(text)
    return str(response)


def _twilio_error(
    exc: TwilioRestException | TwilioServiceException, http_client: OutboundHttpClient
) -> TransportError:
    status = int(exc.status)
    retry_after = None
    last = http_client.last_response
    if status in (429, 503) and last is not None:
        retry_after = outbound.parse_retry_after(last.headers.get("Retry-After"))
    detail = getattr(exc, "msg", "") or getattr(exc, "detail", "") or exc.title
    return TransportError(
        f"Twilio answered HTTP {status}: {detail}",
        permanent=not (status == 429 or status >= 500),
        status=status,
        retry_after=retry_after,
        body=outbound.excerpt(last) if last is not None else "",
    )


class _TwilioTransport(Transport):
    """What SMS and voice share: configuration, errors, E.164 numbers."""

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Create the SMS or call for `message` and return its SID."""
        client, http_client = _client()
        try:
            resource = self.create(client, message, destination.address)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _twilio_error(exc, http_client) from exc
        except (TwilioException, ValueError) as exc:
            # An unreadable 2xx: the message may have gone out; sending again
            # risks a duplicate page, which is better than a missing one.
            raise TransportError(
                f"Unreadable answer from Twilio: {exc!r}", permanent=False
            ) from exc
        last = http_client.last_response
        return ProviderResult(
            status=last.status_code if last is not None else None,
            provider_id=str(resource.sid or ""),
            body=outbound.excerpt(last) if last is not None else "",
        )

    def create(self, client: Any, message: Message, to: str) -> Any:
        """Create the Twilio resource (a message or a call) and return it."""
        raise NotImplementedError

    def validate_address(self, address: str) -> str:
        """Return the number in E.164 (`+` and 7 to 15 digits), or raise ValueError."""
        number = re.sub(r"[\s().-]", "", address)
        if not E164.fullmatch(number):
            raise ValueError(
                f"{address!r} is not an international number: write it as "
                "+ then the country code and number, e.g. +14155550100."
            )
        return number


class SmsTransport(_TwilioTransport):
    """Send an SMS with `message.short`."""

    kind = "sms"

    def create(self, client: Any, message: Message, to: str) -> Any:
        """Create the SMS."""
        return client.messages.create(
            to=to, from_=settings.TWILIO_FROM_NUMBER, body=message.short
        )


class VoiceTransport(_TwilioTransport):
    """Call and read `message.short` out, twice."""

    kind = "voice"

    def create(self, client: Any, message: Message, to: str) -> Any:
        """Place the call."""
        return client.calls.create(
            to=to, from_=settings.TWILIO_FROM_NUMBER, twiml=say_twice(message.short)
        )
