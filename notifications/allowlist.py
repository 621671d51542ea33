"""Read `VIGIL_OUTBOUND_ALLOWLIST`: the private destinations users may reach.

An entry lets every user who can create a webhook, a contact method or a
channel make the worker connect there, so an entry should be as narrow as
the relay it is for:

* `10.0.0.0/8`, `10.0.0.5`, `fd00::/8` — a network or one address, any port;
* `relay.internal` — a host name (whatever it resolves to), any port;
* `10.0.0.5:8443`, `[fd00::5]:443`, `relay.internal:8443`, `10.0.0.0/8:443`
  — the same, on that port only.

An IPv4-mapped IPv6 address is the same host as its IPv4 address; a 6to4
or NAT64 one goes through a gateway, so it is not allowed by its IPv4.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AllowEntry:
    """One entry: a network or a host name, and the one port it allows (or any)."""

    network: IPNetwork | None
    name: str
    port: int | None

    def admits_port(self, port: int | None) -> bool:
        """Return whether the entry allows `port` (an entry without one: any)."""
        return self.port is None or self.port == port


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ImproperlyConfigured(
            f"VIGIL_OUTBOUND_ALLOWLIST: {entry!r} has an invalid port {text!r}."
        )
    return int(text)


def parse_entry(entry: str) -> AllowEntry | None:
    """Return one allow-list entry parsed, None if blank; refuse a bad one."""
    text = entry.strip()
    if not text:
        return None
    port: int | None = None
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ImproperlyConfigured(
                f"VIGIL_OUTBOUND_ALLOWLIST: {entry!r} is not [IPv6]:port."
            )
        text, port = inside, _port(rest[1:], entry) if rest else None
    elif text.count(":") == 1:
        head, _colon, tail = text.partition(":")
        text, port = head, _port(tail, entry)
    try:
        return AllowEntry(ipaddress.ip_network(text, strict=False), "", port)
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    if not name or ":" in name or "/" in name:
        raise ImproperlyConfigured(
            f"VIGIL_OUTBOUND_ALLOWLIST: {entry!r} is neither a network nor a host."
        )
    return AllowEntry(None, name, port)


def entries() -> list[AllowEntry]:
    """Return the allow-list as configured now."""
    parsed = (parse_entry(entry) for entry in settings.VIGIL_OUTBOUND_ALLOWLIST)
    return [entry for entry in parsed if entry is not None]


def is_allowed(address: IPAddress, port: int | None = None) -> bool:
    """Return whether `address` (on `port`) lies inside an allow-listed network.

    An entry with a port allows only that port; without `port`, only the
    entries that allow any port count.
    """
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    candidates = [c for c in (address, mapped) if c is not None]
    return any(
        candidate in entry.network
        for entry in entries()
        if entry.network is not None and entry.admits_port(port)
        for candidate in candidates
        if candidate.version == entry.network.version
    )


def name_is_allowed(name: str, port: int | None = None) -> bool:
    """Return whether the host name `name` (on `port`) is allow-listed as such."""
    name = name.lower().rstrip(".")
    return any(
        entry.name == name and entry.admits_port(port)
        for entry in entries()
        if entry.network is None
    )


def host_is_allowlisted(host: str, port: int | None = None) -> bool:
    """Return whether `host` (a name or an IP literal) is allow-listed as such."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        return is_allowed(ipaddress.ip_address(host), port)
    except ValueError:
        return name_is_allowed(host, port)
