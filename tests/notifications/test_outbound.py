"""The one module that makes outbound HTTP: SSRF guard, redirects, statuses.

Refusals are tested with `no_network`: httpx's transport fails the test if a
request ever gets below the guard, so that a bug here cannot reach
169.254.169.254 or 10.0.0.1. (The package's autouse guard also fails any
connect outside loopback.)
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from notifications import outbound
from notifications.transports.base import TransportError
from tests.notifications.servers import Answer, HTTPReceiver


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a request reaches httpx's network transport."""

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        pytest.fail(f"A refused request reached the network: {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle_request)


REFUSED = [
    ("http://127.0.0.1/", "127.0.0.1"),
    ("http://[::1]:8080/", "::1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://10.0.0.1/", "10.0.0.1"),
    ("http://0.0.0.0:80/", "0.0.0.0"),  # noqa: S104 (a URL refused, no bind)
    ("http://localhost:9/hook", "127.0.0.1"),
    ("https://192.168.1.1/", "192.168.1.1"),
    ("https://172.16.0.1/", "172.16.0.1"),
    ("http://100.64.0.1/", "100.64.0.1"),  # shared address space (CGNAT)
    ("http://224.0.0.1/", "224.0.0.1"),  # multicast
    ("http://240.0.0.1/", "240.0.0.1"),  # reserved
    ("http://[fe80::1]/", "fe80::1"),
    ("http://[fd00::1]/", "fd00::1"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:a9fe:a9fe"),
    ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe"),  # NAT64
    ("http://[2002:a00:1::]/", "2002:a00:1::"),  # 6to4 of 10.0.0.1
    ("http://2130706433/", "127.0.0.1"),  # 127.0.0.1 as one integer
]


@pytest.mark.parametrize(("url", "address"), REFUSED)
def test_a_non_public_address_is_refused_before_any_connect(
    url: str, address: str, no_network: None, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = []

    with pytest.raises(TransportError) as caught:
        outbound.request("POST", url, json={})

    assert caught.value.permanent is True
    assert address in str(caught.value)


def test_an_allow_listed_ipv4_covers_its_mapped_ipv6_form_only(
    allow_loopback: None, no_network: None
) -> None:
    checked = outbound.check_url("http://[::ffff:127.0.0.1]:8080/x")
    assert str(checked.address) == "::ffff:7f00:1"

    with pytest.raises(TransportError, match="not a public address"):
        outbound.check_url("http://[2002:7f00:1::]/x")  # 6to4: via a gateway


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "file:///etc/passwd", "gopher://example.org/", "/x"]
)
def test_only_http_and_https_are_allowed(url: str, no_network: None) -> None:
    with pytest.raises(TransportError, match="only http and https") as caught:
        outbound.request("GET", url)

    assert caught.value.permanent is True


def test_an_allow_listed_network_is_reached(
    http_receiver: HTTPReceiver, allow_loopback: None
) -> None:
    http_receiver.answer("/hook", Answer(200, {"ok": True}))

    response = outbound.request("POST", http_receiver.url("/hook"), json={"a": 1})

    assert response.status_code == 200
    assert response.json() == {"ok": True}
    (received,) = http_receiver.requests_to("/hook")
    assert received.json == {"a": 1}
    assert received.headers["user-agent"] == outbound.USER_AGENT


def test_an_allow_listed_host_name_is_reached(
    http_receiver: HTTPReceiver, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["localhost"]
    url = f"http://localhost:{http_receiver.port}/hook"

    outbound.request("GET", url)

    (received,) = http_receiver.requests_to("/hook")
    assert received.headers["host"] == f"localhost:{http_receiver.port}"


def test_ipv6_loopback_is_reached_when_allow_listed(
    make_http_receiver: Any, settings: Any
) -> None:
    try:
        receiver = make_http_receiver("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["::1/128"]

    outbound.request("GET", receiver.url("/v6"))

    assert len(receiver.requests_to("/v6")) == 1


def test_the_connection_is_pinned_to_the_address_that_was_checked(
    http_receiver: HTTPReceiver, allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1"])  # a rebinding DNS server
    lookups: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        lookups.append(host)
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    outbound.request("GET", f"http://rebind.example:{http_receiver.port}/pinned")

    (received,) = http_receiver.requests_to("/pinned")
    assert received.headers["host"] == f"rebind.example:{http_receiver.port}"
    assert lookups == ["rebind.example"]


def test_a_redirect_to_a_refused_address_is_refused_and_never_followed(
    http_receiver: HTTPReceiver, make_http_receiver: Any, allow_loopback: None
) -> None:
    inner = make_http_receiver("127.0.0.2")
    http_receiver.answer(
        "/hook", Answer(307, b"", {"Location": inner.url("/internal")})
    )

    with pytest.raises(TransportError, match=r"127\.0\.0\.2") as caught:
        outbound.request("POST", http_receiver.url("/hook"), json={})

    assert caught.value.permanent is True
    assert len(http_receiver.requests_to("/hook")) == 1
    assert inner.requests == []


def test_redirects_are_followed_five_times_and_no_more(
    http_receiver: HTTPReceiver, allow_loopback: None
) -> None:
    for hop in range(6):
        http_receiver.answer(f"/r{hop}", Answer(302, b"", {"Location": f"/r{hop + 1}"}))
    http_receiver.answer("/r5", Answer(200, "done"))

    assert outbound.request("GET", http_receiver.url("/r0")).text == "done"

    http_receiver.answer("/r5", Answer(302, b"", {"Location": "/r6"}))
    with pytest.raises(TransportError, match="More than 5 redirects") as caught:
        outbound.request("GET", http_receiver.url("/r0"))
    assert caught.value.permanent is True
    assert http_receiver.requests_to("/r6") == []


def test_a_303_turns_into_a_get_without_the_body(
    http_receiver: HTTPReceiver, allow_loopback: None
) -> None:
    http_receiver.answer("/post", Answer(303, b"", {"Location": "/result"}))

    outbound.request("POST", http_receiver.url("/post"), json={"secret": 1})

    (followed,) = http_receiver.requests_to("/result")
    assert followed.method == "GET"
    assert followed.body == b""


def test_credentials_do_not_follow_a_redirect_to_another_origin(
    http_receiver: HTTPReceiver, make_http_receiver: Any, allow_loopback: None
) -> None:
    other = make_http_receiver("127.0.0.1")
    http_receiver.answer("/api", Answer(307, b"", {"Location": other.url("/moved")}))

    outbound.request(
        "POST",
        http_receiver.url("/api"),
        data={"a": "1"},
        headers={"Authorization": "Bearer t0ken"},
        auth=None,
    )

    assert (
        http_receiver.requests_to("/api")[0].headers["authorization"] == "Bearer t0ken"
    )
    (moved,) = other.requests_to("/moved")
    assert "authorization" not in moved.headers
    assert moved.form == {"a": ["1"]}  # 307 keeps the method and body


def test_proxy_variables_of_the_environment_are_ignored(
    http_receiver: HTTPReceiver, allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://10.0.0.1:3128")

    outbound.request("GET", http_receiver.url("/direct"))

    assert len(http_receiver.requests_to("/direct")) == 1


def test_a_huge_answer_is_read_only_up_to_the_limit(
    http_receiver: HTTPReceiver, allow_loopback: None
) -> None:
    http_receiver.answer("/big", Answer(500, b"x" * (outbound.MAX_BODY + 4096)))

    response = outbound.request("GET", http_receiver.url("/big"))

    assert len(response.content) == outbound.MAX_BODY
    with pytest.raises(TransportError) as caught:
        outbound.raise_for_status(response)
    assert len(caught.value.body) == 1000


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("POST", "https://hooks.example.org/x")
    return httpx.Response(status, headers=headers, content=b"oops", request=request)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_transient(status: int) -> None:
    with pytest.raises(TransportError) as caught:
        outbound.raise_for_status(_response(status))

    assert caught.value.permanent is False
    assert caught.value.status == status
    assert caught.value.body == "oops"


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 410, 413, 422])
def test_other_failures_are_permanent(status: int) -> None:
    with pytest.raises(TransportError) as caught:
        outbound.raise_for_status(_response(status))

    assert caught.value.permanent is True
    assert "hooks.example.org answered HTTP" in str(caught.value)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_success_statuses_pass(status: int) -> None:
    outbound.raise_for_status(_response(status))


def test_retry_after_may_be_an_http_date(
    http_receiver: HTTPReceiver, allow_loopback: None
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    headers = {"Retry-After": format_datetime(when, usegmt=True)}
    http_receiver.answer("/busy", Answer(503, "busy", headers))

    response = outbound.request("POST", http_receiver.url("/busy"))
    with pytest.raises(TransportError) as caught:
        outbound.raise_for_status(response)

    assert caught.value.permanent is False
    assert caught.value.retry_after is not None
    assert 117 <= caught.value.retry_after <= 120


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # already past
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_values_are_parsed(
    value: str | None, seconds: float | None
) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC).timestamp()

    assert outbound.parse_retry_after(value, now=now) == seconds


def test_validate_url_needs_https_unless_the_host_is_allow_listed(
    allow_loopback: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> None:
        pytest.fail("validate_url must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)

    assert outbound.validate_url(" https://hooks.example.org/x ") == (
        "https://hooks.example.org/x"
    )
    assert outbound.validate_url("http://127.0.0.1:9000/x") == "http://127.0.0.1:9000/x"
    with pytest.raises(ValueError, match="Use https"):
        outbound.validate_url("http://hooks.example.org/x")
    with pytest.raises(ValueError, match="not a public address"):
        outbound.validate_url("https://10.1.2.3/x")


def test_a_timeout_is_transient_and_bounded_by_the_setting(
    http_receiver: HTTPReceiver, allow_loopback: None, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_TIMEOUT = 1
    http_receiver.answer("/slow", Answer(delay=5))
    started = time.monotonic()

    with pytest.raises(TransportError, match="did not answer in time") as caught:
        outbound.request("GET", http_receiver.url("/slow"))

    assert caught.value.permanent is False
    assert 0.9 <= time.monotonic() - started < 3


# --- Connections kept for a batch (`outbound.connections()`) -----------------


@pytest.fixture
def kept(make_http_receiver: Any, allow_loopback: None) -> HTTPReceiver:
    """Return a receiver that keeps connections open between requests."""
    return make_http_receiver(keep_alive=True)


def test_requests_in_a_block_share_a_connection_and_others_do_not(
    kept: HTTPReceiver,
) -> None:
    with outbound.connections():
        for path in ("/a", "/b", "/c"):
            outbound.request("POST", kept.url(path), json={})
    outbound.request("POST", kept.url("/d"), json={})
    outbound.request("POST", kept.url("/e"), json={})

    ports = [received.client[1] for received in kept.requests]
    assert len(set(ports[:3])) == 1
    assert len(set(ports)) == 3  # /d and /e each connected afresh


def test_a_kept_connection_is_not_reused_for_another_name_at_that_address(
    kept: HTTPReceiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two names, one address: a connection opened (and, with https, its
    # certificate verified) for one name must not carry the other's request.
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["127.0.0.1/32"]
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("one.example", "two.example"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    with outbound.connections():
        for name in ("one.example", "two.example", "one.example"):
            outbound.request("GET", f"http://{name}:{kept.port}/x")

    first, second, third = kept.requests
    assert [r.headers["host"].split(":")[0] for r in kept.requests] == [
        "one.example",
        "two.example",
        "one.example",
    ]
    assert first.client == third.client
    assert second.client != first.client


def test_every_request_in_a_block_is_still_checked(
    kept: HTTPReceiver, settings: Any
) -> None:
    with outbound.connections():
        outbound.request("GET", kept.url("/allowed"))
        settings.VIGIL_OUTBOUND_ALLOWLIST = []
        with pytest.raises(TransportError, match="not a public address"):
            outbound.request("GET", kept.url("/refused"))

    assert [r.path for r in kept.requests] == ["/allowed"]


def test_a_redirect_in_a_block_is_checked_before_it_is_followed(
    kept: HTTPReceiver, make_http_receiver: Any
) -> None:
    inner = make_http_receiver("127.0.0.2")
    kept.answer("/hook", Answer(307, b"", {"Location": inner.url("/internal")}))

    with outbound.connections(), pytest.raises(TransportError, match=r"127\.0\.0\.2"):
        outbound.request("POST", kept.url("/hook"), json={})

    assert inner.requests == []


def test_cookies_follow_a_requests_redirects_but_never_the_next_request(
    kept: HTTPReceiver,
) -> None:
    kept.answer(
        "/login", Answer(302, b"", {"Location": "/home", "Set-Cookie": "s=1; Path=/"})
    )

    with outbound.connections():
        outbound.request("GET", kept.url("/login"))
        outbound.request("GET", kept.url("/next"))

    (home,) = kept.requests_to("/home")
    assert home.headers.get("cookie") == "s=1"
    (following,) = kept.requests_to("/next")
    assert "cookie" not in following.headers
    assert kept.requests[0].client == following.client  # the same connection
