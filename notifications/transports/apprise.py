"""Send a message through an Apprise URL (Telegram, ntfy, Pushover, mail…).

One destination is exactly one Apprise URL, turned into one plugin by
`Apprise.instantiate()` (so "a, b" cannot smuggle in a second service), and
notified with `title=message.subject`, `body=message.chat` as Markdown.

Apprise does its own connections (HTTP with `requests`, SMTP with
`smtplib`), so `notifications.outbound` cannot pin them. Only the plugins
whose connection targets we can name are accepted, by URL scheme
(`PLUGINS`); any other plugin is refused, at creation and when sending —
those that write on the worker's host (syslog://, windows://, dbus://),
that reach hosts out of any parameter we have not read, or that discover
their server (matrix:// follows `.well-known`). For an accepted plugin:

* `Rule.FIXED` plugins connect only to their provider's public API
  (api.telegram.org…); the host slot of their URL is a token.
* `Rule.HOST` plugins connect to the URL's host and port over HTTP(S);
  ntfy without a host goes to ntfy.sh.
* `Rule.SMTP` plugins (mailto://, mailtos://) connect to the SMTP server:
  `smtp=` when given, else a known provider's server for the domain, else
  the URL's host — on the URL's port or the mode's default.

Parameters that read files on the worker's host or fetch from elsewhere are
refused for every plugin (`REFUSED_PARAMETERS`): `template=` of Telegram,
Discord and Slack (a local path or any URL), and mail's PGP key paths and
Web Key Directory lookups (keys fetched from the recipient's domain).

Every target goes through the SSRF guard: on creation, `validate_host()`
(IP literals and localhost names, with the port for allow-list entries);
when sending, `check_host()` resolves it and refuses, permanently, any
non-public address that is not allow-listed. A target that does not
resolve now is a transient failure.

Redirects are switched off (`AppriseAsset(http_redirects=False)` and the
plugin's `redirects`); connect and read time out after
`VIGIL_OUTBOUND_TIMEOUT` seconds (the plugin's `cto`/`rto`). Not covered:
DNS rebinding (Apprise resolves the name again when it connects) and
proxies from the environment (`requests` honours HTTP(S)_PROXY).

Apprise reports only success or failure, never the provider's status, so a
failure is always transient, and a 429's Retry-After is lost: the delivery
retries with its own backoff, a bounded number of times. The log lines
Apprise captured (they name the HTTP status) go into the error's body.
"""

from __future__ import annotations

import enum
import logging
from urllib.parse import parse_qsl, urlsplit

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


class Rule(enum.Enum):
    """Where a plugin connects."""

    FIXED = "its provider's public API"
    HOST = "the URL's host"
    SMTP = "the SMTP server"


PLUGINS: dict[str, Rule] = {
    **dict.fromkeys(
        ["tgram", "pover", "discord", "slack", "pagerduty", "opsgenie"], Rule.FIXED
    ),
    **dict.fromkeys(
        ["json", "jsons", "xml", "xmls", "form", "forms", "gotify", "gotifys"],
        Rule.HOST,
    ),
    **dict.fromkeys(
        ["ntfy", "ntfys", "mmost", "mmosts", "rocket", "rockets"], Rule.HOST
    ),
    **dict.fromkeys(["mailto", "mailtos"], Rule.SMTP),
}
# Parameters that read files on the worker's host or fetch from elsewhere:
# `template` (Telegram, Discord, Slack) loads a local path or any URL; the
# mail PGP ones read key files and fetch keys from the recipient's domain
# (Web Key Directory).
REFUSED_PARAMETERS = frozenset({"template", "pgp", "pgpkey", "pgppub", "pgpprv", "wkd"})
_REFUSED = (
    "Apprise URLs cannot use parameters that read files or fetch keys "
    "(template, PGP, Web Key Directory): {}."
)


def _scheme(address: str) -> str:
    return address.partition("://")[0].strip().lower()


def _plugin(url: str, asset: apprise.AppriseAsset) -> apprise.NotifyBase | None:
    return apprise.Apprise.instantiate(url, asset=asset, suppress_exceptions=True)


def _port(value: object, default: int) -> int:
    return value if isinstance(value, int) and value > 0 else default


def plugin_rule(address: str) -> Rule:
    """Return where the plugin of `address` connects, before Apprise reads it.

    Raise ValueError for other plugins and for refused parameters.
    """
    scheme = _scheme(address)
    rule = PLUGINS.get(scheme)
    if rule is None:
        known = ", ".join(f"{name}://" for name in sorted(PLUGINS))
        raise ValueError(
            f"Apprise URLs of kind {scheme}:// are not accepted here (Vigil "
            f"cannot check where they connect); use one of: {known}"
        )
    query = {key.lower() for key, _ in parse_qsl(urlsplit(address).query)}
    refused = sorted(query & REFUSED_PARAMETERS)
    if refused:
        raise ValueError(_REFUSED.format(", ".join(refused)))
    return rule


def targets(address: str, plugin: apprise.NotifyBase) -> list[tuple[str, int]]:
    """Return the (host, port) pairs the plugin of `address` connects to.

    Raise ValueError when the plugin is not one whose targets we know.
    """
    rule = plugin_rule(address)
    if getattr(plugin, "use_wkd", False):  # a default we did not ask for
        raise ValueError(_REFUSED.format("wkd"))
    if rule is Rule.FIXED:
        return []
    host = getattr(plugin, "host", None) or ""
    default = 443 if getattr(plugin, "secure", False) else 80
    if rule is Rule.HOST:
        return [(host, _port(getattr(plugin, "port", None), default))] if host else []
    server = getattr(plugin, "smtp_host", None) or host
    return [(server, _port(getattr(plugin, "port", None), 25))]


def guard(address: str, plugin: apprise.NotifyBase) -> None:
    """Refuse the plugin unless every host it connects to passes the guard."""
    try:
        pairs = targets(address, plugin)
    except ValueError as exc:
        raise TransportError(str(exc), permanent=True) from None
    for host, port in pairs:
        outbound.check_host(host, port)


class AppriseTransport(Transport):
    """Send through one Apprise URL."""

    kind = "apprise"

    def send(self, message: Message, destination: Destination) -> ProviderResult:
        """Notify the service of `destination.address` with `message`."""
        try:
            plugin_rule(destination.address)
        except ValueError as exc:
            raise TransportError(str(exc), permanent=True) from None
        asset = apprise.AppriseAsset(http_redirects=False)
        plugin = _plugin(destination.address, asset)
        if plugin is None:
            raise TransportError("Apprise does not accept this URL.", permanent=True)
        guard(destination.address, plugin)
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
        """Return the URL if Apprise accepts it and its targets pass the guard."""
        address = address.strip()
        if not address or any(char.isspace() for char in address):
            raise ValueError("Enter one Apprise URL, without spaces.")
        plugin_rule(address)
        plugin = _plugin(address, apprise.AppriseAsset())
        if plugin is None:
            raise ValueError(
                "Apprise does not recognise this URL; see "
                "https://github.com/caronc/apprise/wiki for the supported ones."
            )
        for host, port in targets(address, plugin):
            outbound.validate_host(host, port)
        return address
