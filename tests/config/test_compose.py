"""docker-compose.yml publishes only Vigil's own ports to the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Vigil's HTTP (gunicorn) and websockets (uvicorn): what browsers and
# monitoring reach. Anything else is for the operator on the Docker host.
PUBLIC = {"web", "live"}
LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}


def compose() -> dict[str, Any]:
    with (ROOT / "docker-compose.yml").open() as file:
        loaded: dict[str, Any] = yaml.safe_load(file)
    return loaded


def host_ip(port: str | int | dict[str, Any]) -> str:
    """Return the address a port entry is published on ("" for every one)."""
    if isinstance(port, dict):  # the long syntax
        return str(port.get("host_ip", ""))
    parts = str(port).rsplit(":", 2)  # [ip:]host:container, ip may be [::1]
    return parts[0] if len(parts) == 3 else ""


def test_only_web_and_live_are_published_on_every_interface() -> None:
    published = {
        (name, str(port), host_ip(port) or "every interface")
        for name, service in compose()["services"].items()
        for port in service.get("ports", [])
    }

    assert {name for name, _, _ in published} >= PUBLIC
    exposed = {
        entry
        for entry in published
        if entry[0] not in PUBLIC and entry[2] not in LOOPBACK
    }
    assert exposed == set()


def test_host_ip_reads_every_port_syntax() -> None:
    assert host_ip("8000:8000") == ""
    assert host_ip(8000) == ""
    assert host_ip("127.0.0.1:15672:15672") == "127.0.0.1"
    assert host_ip("[::1]:8025:8025") == "[::1]"
    assert host_ip({"target": 80, "published": 8080}) == ""
    assert host_ip({"target": 80, "host_ip": "127.0.0.1"}) == "127.0.0.1"


def test_no_service_uses_rabbitmqs_guest_account() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    services = compose()["services"]

    assert "guest:guest" not in text
    assert "amqp://guest" not in text
    rabbitmq = services["rabbitmq"]["environment"]
    assert rabbitmq["RABBITMQ_DEFAULT_USER"] != "guest"
    assert "RABBITMQ_PASSWORD" in rabbitmq["RABBITMQ_DEFAULT_PASS"]


def test_the_bulk_worker_yields_the_cpu_to_the_web_and_the_urgent_node() -> None:
    services = compose()["services"]
    default = 1024  # Docker's CPU weight for a container that sets none

    assert "bulk@" in services["worker"]["command"]
    assert services["worker"]["cpu_shares"] * 3 <= default + 10  # a third
    for name in ("web", "live", "urgent"):
        assert services[name].get("cpu_shares", default) == default
