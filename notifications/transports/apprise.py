"""Send a message through an Apprise URL (Telegram, ntfy, Matrix, Pushover…).

One destination is exactly one Apprise URL, turned into one plugin by
`Apprise.instantiate()` (so "a, b" cannot smuggle in a second service), and
notified with `title=message.subject`, `body=message.chat` as Markdown.

Apprise does its own HTTP, with `requests`, so `notifications.outbound`
cannot pin its connections. What the guard covers, and what it does not:

* Covered: before sending, the host of the URL goes through
  `outbound.check_host()` — for every plugin whose URL templates name a
  `{host}` (json://, ntfy://host/topic, matrix://, gotify://, mailto://…),
  and for any other plugin whose host is an IP literal or a dotted DNS name.
  A loopback, private or link-local address is refused, permanently, unless
  allow-listed. A host we cannot resolve is let through: Apprise cannot
  reach it either, and in many plugins that slot holds a token or a topic,
  not a host (pover://user@token, tgram://bot-token/chat, ntfy://topic).
* Covered: redirects are switched off (`AppriseAsset(http_redirects=False)`
  and the plugin's `redirects`), so no 3xx can lead Apprise elsewhere;
  connect and read time out after `VIGIL_OUTBOUND_TIMEOUT` seconds (the
  plugin's `cto`/`rto`).
* Not covered: DNS rebinding — Apprise resolves the name again when it
  connects, so a name that changes its answer between our check and that
  connect is not caught; single-label names that hold a token in plugins
  without a `{host}` template; proxies from the environment (`requests`
  honours HTTP(S)_PROXY); non-HTTP protocols (SMTP, MQTT, XMPP, IRC…)
  beyond the check of their host; the fixed public APIs plugins call
  (api.telegram.org…), which are public by construction.

Apprise reports only success or failure, never the provider's status, so a
failure is always transient, and a 429's Retry-After is lost: the delivery
retries with its own backoff, a bounded number of times. The log lines
Apprise captured (they name the HTTP status) go into the error's body.
"""

from __future__ import annotations

import ipaddress
import logging
import re

import apprise
from django.conf import settings

from notifications import outbound
from notifications.transports.base import (
    Destination,
    Message,
    ProviderResult,
    Transport,
    TransportError,
)

_DNS_NAME = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9]"
)


def _looks_like_host(host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_DNS_NAME.fullmatch(host))
    return True


def _plugin(url: str, asset: apprise.AppriseAsset) -> apprise.NotifyBase | None:
    return apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)


def guard_host(plugin: apprise.NotifyBase) -> None:
    """Refuse the plugin's host if it resolves to a non-public address."""
    host = getattr(plugin, "host", None)
    if not isinstance(host, str) or not host:
        return
    templates = getattr(plugin, "templates", ())
    names_host = any("{host}" in template for template in templates)
    if not names_host and not _looks_like_host(host):
        return
    port = getattr(plugin, "port", None)
    try:
        outbound.check_host(host, port if isinstance(port, int) else 443)
    except TransportError as exc:
        if exc.permanent:
            raise
        # Unresolvable: Apprise cannot reach it either, or it is not a host.


class AppriseTransport(Transport):
    """Send through one Apprise URL."""

    kind = "apprise"
    label = "Apprise URL"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Notify the service of `destination.address` with `message`."""
        asset = apprise.AppriseAsset(http_redirects=False)
        plugin = _plugin(destination.address, asset)
        if plugin is None:
            raise TransportError("Apprise does not accept this URL.", permanent=True)
        guard_host(plugin)
        timeout = float(settings.VIGIL_OUTBOUND_TIMEOUT)
        plugin.redirects = False
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        notifier = apprise.Apprise(asset=asset)
        notifier.add(plugin)
        result = notifier.notify(
            title=message.subject,
            body=message.chat,
            body_format=apprise.NotifyFormat.MARKDOWN,
            log_level=logging.WARNING,
        )
        logs = "\n".join(
            entry.message for service in result.results for entry in service.logs()
        )
        if not result:
            raise TransportError(
                f"Apprise could not notify {plugin.service_name}.",
                permanent=False,
                body=logs[: outbound.BODY_EXCERPT],
            )
        return ProviderResult(body=logs[: outbound.BODY_EXCERPT])

    def validate_address(self, address: str) -> str:
        """Return the URL if Apprise accepts it, or raise ValueError."""
        address = address.strip()
        if not address or any(char.isspace() for char in address):
            raise ValueError("Enter one Apprise URL, without spaces.")
        if _plugin(address, apprise.AppriseAsset()) is None:
            raise ValueError(
                "Apprise does not recognise this URL; see "
                "https://github.com/caronc/apprise/wiki for the supported ones."
            )
        return address
