"""VIGIL_OUTBOUND_ALLOWLIST: networks, names, and entries that allow one port."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from notifications import outbound
from notifications.allowlist import AllowEntry, parse_entry
from notifications.transports.base import TransportError
from notifications.transports.webhook import WebhookTransport
from tests.notifications.servers import Answer, HTTPReceiver, free_port


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("10.0.0.0/8", AllowEntry(ipaddress.ip_network("10.0.0.0/8"), "", None)),
        ("10.0.0.5:8443", AllowEntry(ipaddress.ip_network("10.0.0.5"), "", 8443)),
        ("10.0.0.0/8:443", AllowEntry(ipaddress.ip_network("10.0.0.0/8"), "", 443)),
        ("fd00::/8", AllowEntry(ipaddress.ip_network("fd00::/8"), "", None)),
        ("[fd00::5]:443", AllowEntry(ipaddress.ip_network("fd00::5"), "", 443)),
        ("Relay.Internal.", AllowEntry(None, "relay.internal", None)),
        ("relay.internal:8443", AllowEntry(None, "relay.internal", 8443)),
        ("  ", None),
    ],
)
def test_entries_are_networks_or_names_with_an_optional_port(
    entry: str, parsed: AllowEntry | None
) -> None:
    assert parse_entry(entry) == parsed


@pytest.mark.parametrize(
    "entry", ["10.0.0.5:0", "10.0.0.5:http", "[fd00::5", "[fd00::5]443", "a:b:c"]
)
def test_a_malformed_entry_fails_loudly_naming_the_setting(entry: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="VIGIL_OUTBOUND_ALLOWLIST"):
        parse_entry(entry)


def test_an_entry_with_a_port_allows_that_port_of_the_host(
    http_receiver: HTTPReceiver, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = [f"127.0.0.1:{http_receiver.port}"]
    http_receiver.answer("/hook", Answer(200, "ok"))

    response = outbound.request("POST", http_receiver.url("/hook"), json={})

    assert response.status_code == 200
    assert len(http_receiver.requests_to("/hook")) == 1


def test_an_entry_with_a_port_refuses_every_other_port_of_the_host(
    http_receiver: HTTPReceiver, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = [f"127.0.0.1:{free_port()}"]

    with pytest.raises(TransportError, match="not a public address") as caught:
        outbound.request("POST", http_receiver.url("/hook"), json={})

    assert caught.value.permanent is True
    assert http_receiver.requests_to("/hook") == []


def test_a_host_name_entry_with_a_port_allows_only_that_port(
    http_receiver: HTTPReceiver, settings: Any
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = [f"localhost:{http_receiver.port}"]
    url = f"http://localhost:{http_receiver.port}/hook"

    outbound.request("GET", url)

    assert len(http_receiver.requests_to("/hook")) == 1
    with pytest.raises(TransportError, match="not a public address"):
        outbound.check_url(f"http://localhost:{free_port()}/hook")


def test_a_webhook_to_another_port_of_an_allowed_host_is_refused_when_entered(
    settings: Any,
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["10.0.0.5:8443"]
    webhook = WebhookTransport()

    assert webhook.validate_address("https://10.0.0.5:8443/hook")
    with pytest.raises(ValueError, match="not a public address"):
        webhook.validate_address("https://10.0.0.5:6379/")
    with pytest.raises(ValueError, match="not a public address"):
        webhook.validate_address("https://10.0.0.5/")  # 443


def test_a_network_entry_without_a_port_still_allows_every_port(
    settings: Any,
) -> None:
    settings.VIGIL_OUTBOUND_ALLOWLIST = ["10.0.0.0/8"]

    assert outbound.host_is_allowlisted("10.1.2.3", 8443)
    assert outbound.host_is_allowlisted("10.1.2.3", 22)
    assert not outbound.host_is_allowlisted("192.168.0.1", 22)
