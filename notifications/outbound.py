"""Make every outbound HTTP request of the notifications app (the SSRF guard).

Over 400 lines on purpose: every check below is one security boundary,
reviewed and tested as one module.

Transports never call httpx themselves: they call `request()`, which

* accepts only http and https URLs;
* resolves the host once and refuses (`TransportError(permanent=True)`) when
  any of its addresses is not globally routable — loopback, private,
  link-local (169.254.169.254 included), multicast, reserved, unspecified,
  shared 100.64/10, and the IPv4 embedded in IPv4-mapped, 6to4 and NAT64
  IPv6 addresses — unless the address lies in a network of
  `settings.VIGIL_OUTBOUND_ALLOWLIST` or the host name itself is listed
  (an entry with a port allows that port only: `notifications.allowlist`);
* connects to the very address it checked, so a second DNS answer cannot
  swap in another one (DNS rebinding): the URL carries the IP, the `Host`
  header the name, and TLS sends SNI and verifies the certificate for the
  name (httpx's `sni_hostname` extension);
* follows at most `MAX_REDIRECTS` redirects by hand, checking every hop;
* times out connect and read after `settings.VIGIL_OUTBOUND_TIMEOUT` seconds
  and reads at most `MAX_BODY` bytes of an answer;
* ignores proxy variables of the environment (`trust_env=False`): a proxy
  would connect on our behalf to addresses we never checked.

Inside `connections()` (a worker opens it for each batch of deliveries),
requests reuse kept-alive connections instead of each paying for TCP and TLS
set-up. A pool serves one host name at one checked address, and every
request, every redirect too, is still checked first: a connection is only
reused for the very name it was opened (and its certificate verified) for,
at an address the guard has just passed again.

`raise_for_status()` turns an answer into the transport contract: 2xx passes;
408, 425, 429 and 5xx are transient (with `retry_after` for 429/503); any
other status is permanent. Failures to resolve or to connect and timeouts
are transient: bounded retries settle them.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from http.cookiejar import CookieJar
from typing import Any

import httpx
from django.conf import settings

from notifications.allowlist import (
    IPAddress,
    host_is_allowlisted,
    is_allowed,
    name_is_allowed,
)
from notifications.transports.base import TransportError

MAX_REDIRECTS = 5
MAX_BODY = 1024 * 1024
BODY_EXCERPT = 1000
USER_AGENT = "Vigil-Notifications/1.0"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_STATUSES = frozenset({408, 425, 429})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True)
class CheckedURL:
    """A URL the guard let through, and the address to connect to."""

    url: httpx.URL
    host: str
    address: IPAddress


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Return whether `address` (and any IPv4 it embeds) is globally routable."""
    for candidate in (address, _embedded_ipv4(address)):
        if candidate is None:
            continue
        if (
            not candidate.is_global
            or candidate.is_multicast
            or candidate.is_reserved
            or candidate.is_unspecified
            or candidate.is_loopback
            or candidate.is_link_local
            or (isinstance(candidate, ipaddress.IPv4Address) and candidate in _SHARED)
        ):
            return False
    return True


def check_host(host: str, port: int) -> tuple[IPAddress, ...]:
    """Resolve `host` and return its addresses, or refuse it if any is private."""
    name = host.strip("[]").lower().rstrip(".")
    if not name:
        raise TransportError("The URL has no host.", permanent=True)
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"Cannot resolve {name}: {exc}", permanent=False) from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise TransportError(f"Cannot resolve {name}.", permanent=False)
    if name_is_allowed(name, port):
        return tuple(addresses)
    for address in addresses:
        if not is_public(address) and not is_allowed(address, port):
            raise TransportError(
                f"Refusing to connect to {name} at {address}: not a public "
                "address (add it, or host:port, to VIGIL_OUTBOUND_ALLOWLIST to "
                "permit it).",
                permanent=True,
            )
    return tuple(addresses)


def parse_url(url: str | httpx.URL) -> httpx.URL:
    """Return `url` parsed, or raise a permanent `TransportError`."""
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise TransportError(f"Invalid URL: {exc}", permanent=True) from exc


def check_url(url: str | httpx.URL) -> CheckedURL:
    """Return the URL with the address to pin, or refuse it (SSRF guard)."""
    parsed = parse_url(url)
    if parsed.scheme not in ("http", "https"):
        raise TransportError(
            f"Refusing a {parsed.scheme or 'scheme-less'} URL: only http and https.",
            permanent=True,
        )
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = check_host(host, port)
    return CheckedURL(url=parsed, host=host, address=addresses[0])


def validate_host(host: str, port: int) -> None:
    """Raise ValueError if the guard would refuse `host` on `port` without a lookup.

    IP literals are checked as the guard checks them, and `localhost` names
    are refused; other names are only resolved when sending.
    """
    name = host.strip("[]").lower().rstrip(".")
    if host_is_allowlisted(name, port):
        return
    if name == "localhost" or name.endswith(".localhost"):
        raise ValueError(f"{name} is not a public address.")
    try:
        literal = ipaddress.ip_address(name)
    except ValueError:
        return
    if not is_public(literal):
        raise ValueError(f"{literal} is not a public address.")


def validate_url(address: str) -> str:
    """Return a webhook URL stripped, or raise ValueError saying why not.

    Require https, except for allow-listed hosts (a relay on the private
    network, the tests' local server). Refuse what `validate_host` refuses.
    """
    address = address.strip()
    try:
        parsed = httpx.URL(address)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValueError(f"Not a valid URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("Enter a full https:// URL.")
    if any(char.isspace() for char in address):
        raise ValueError("A URL cannot contain spaces.")
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if parsed.scheme == "http" and not host_is_allowlisted(host, port):
        raise ValueError("Use https: the URL is a secret and must not travel in clear.")
    validate_host(host, port)
    return address


def _pinned(checked: CheckedURL) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """Return the URL to the checked address, the Host header, the extensions."""
    url = checked.url
    try:
        ipaddress.ip_address(checked.host.strip("[]"))
    except ValueError:
        pass
    else:
        return url, {}, {}
    extensions: dict[str, Any] = {}
    if url.scheme == "https":
        extensions["sni_hostname"] = checked.host
    pinned = url.copy_with(host=str(checked.address))
    return pinned, {"Host": url.netloc.decode("ascii")}, extensions


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() != name}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(float(settings.VIGIL_OUTBOUND_TIMEOUT))


# A pool per (scheme, host name, port, checked address): see `connections()`.
PoolKey = tuple[str, str, int | None, IPAddress]
_pools: ContextVar[dict[PoolKey, httpx.Client] | None] = ContextVar(
    "outbound_pools", default=None
)


@contextlib.contextmanager
def connections() -> Iterator[dict[PoolKey, httpx.Client]]:
    """Reuse connections for the requests made inside the block; close them after.

    Without it, each `request()` connects afresh. The pools belong to the
    block, so a connection never outlives the batch that opened it.
    """
    pools = _pools.get()
    if pools is not None:  # an enclosing block already pools
        yield pools
        return
    pools = {}
    token = _pools.set(pools)
    try:
        yield pools
    finally:
        _pools.reset(token)
        for client in pools.values():
            client.close()


def _client(pools: dict[PoolKey, httpx.Client], checked: CheckedURL) -> httpx.Client:
    # Keyed by the name as well as the address: httpx matches a kept
    # connection by the address alone, and a connection verified for one name
    # (SNI, certificate) must not carry a request for another name that
    # resolves to the same address.
    url = checked.url
    key = (url.scheme, checked.host.lower(), url.port, checked.address)
    client = pools.get(key)
    if client is None:
        client = httpx.Client(timeout=_timeout(), trust_env=False, verify=_tls())
        pools[key] = client
    return client


def _send_once(
    client: httpx.Client,
    method: str,
    checked: CheckedURL,
    *,
    body: dict[str, Any],
    headers: Mapping[str, str],
    auth: tuple[str, str] | None,
    cookies: CookieJar,
) -> httpx.Response:
    url, host_header, extensions = _pinned(checked)
    # The cookies of this request's own hops only (httpx keeps what the answer
    # sets in this jar): a pooled client must not carry one request's cookies
    # into the next.
    client.cookies = cookies
    request = client.build_request(
        method,
        url,
        headers={"User-Agent": USER_AGENT, **headers, **host_header},
        extensions=extensions,
        **body,
    )
    response = client.send(request, stream=True, auth=auth)
    try:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY:
                break
    finally:
        response.close()
    # The body is already decoded: drop the headers that describe the wire.
    kept = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in _WIRE_HEADERS
    ]
    return httpx.Response(
        response.status_code,
        headers=kept,
        content=b"".join(chunks)[:MAX_BODY],
        request=httpx.Request(method, checked.url),
    )


@functools.cache
def _tls() -> ssl.SSLContext:
    """Return the process's TLS context: building one costs ~20 ms a request."""
    return httpx.create_ssl_context()


def request(
    method: str,
    url: str,
    *,
    json: Any = None,
    content: bytes | str | None = None,
    data: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    follow_redirects: bool = True,
) -> httpx.Response:
    """Send one request through the SSRF guard and return the final answer.

    Raise `TransportError` when the guard refuses a URL (permanent), on a
    redirect loop (permanent), or when the provider cannot be reached or
    does not answer in time (transient). Statuses are left to
    `raise_for_status()`.
    """
    body: dict[str, Any] = {"json": json, "content": content, "data": data}
    body = {key: value for key, value in body.items() if value is not None}
    headers = dict(headers or {})
    current = parse_url(url)
    cookies = CookieJar()
    with connections() as pools:
        for _hop in range(MAX_REDIRECTS + 1):
            checked = check_url(current)
            try:
                response = _send_once(
                    _client(pools, checked),
                    method,
                    checked,
                    body=body,
                    headers=headers,
                    auth=auth,
                    cookies=cookies,
                )
            except httpx.TimeoutException as exc:
                raise TransportError(
                    f"{checked.host} did not answer in time.",
                    permanent=False,
                    body=repr(exc)[:BODY_EXCERPT],
                ) from exc
            except httpx.HTTPError as exc:
                # What the far end said (a protocol error quotes the bytes it
                # got) goes into the body, which only administrators see.
                raise TransportError(
                    f"Cannot reach {checked.host}: {type(exc).__name__}.",
                    permanent=False,
                    body=repr(exc)[:BODY_EXCERPT],
                ) from exc
            location = response.headers.get("Location")
            if (
                not follow_redirects
                or response.status_code not in REDIRECT_STATUSES
                or not location
            ):
                return response
            try:
                following = current.join(location)
            except httpx.InvalidURL as exc:
                raise TransportError(
                    f"{checked.host} redirected to an invalid URL.", permanent=True
                ) from exc
            if _origin(following) != _origin(current):
                # Credentials meant for one host never travel to another.
                auth = None
                headers = _without(headers, "authorization")
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method == "POST"
            ):
                method, body = "GET", {}
                headers = _without(headers, "content-type")
            current = following
    raise TransportError(
        f"More than {MAX_REDIRECTS} redirects from {url}.", permanent=True
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the seconds a Retry-After value asks for (delay or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def excerpt(response: httpx.Response) -> str:
    """Return the start of the answer's body, for the delivery log."""
    return response.content[: BODY_EXCERPT * 4].decode("utf-8", "replace")[
        :BODY_EXCERPT
    ]


def raise_for_status(response: httpx.Response) -> None:
    """Raise `TransportError` unless the provider answered 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    transient = status in TRANSIENT_STATUSES or status >= 500
    retry_after = None
    if status in (429, 503):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
    # The standard phrase, not the server's: the error is shown to every
    # user who sees the delivery, and a reason phrase is the server's text.
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "error"
    raise TransportError(
        f"{response.request.url.host} answered HTTP {status} {reason}.",
        permanent=not transient,
        status=status,
        retry_after=retry_after,
        body=excerpt(response),
    )
