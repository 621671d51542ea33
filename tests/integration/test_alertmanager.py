"""A real Prometheus Alertmanager pages a live Vigil, configured as users do.

One Alertmanager sends through both of its receivers that Vigil takes:
`webhook_configs` with the key as a Bearer token, and `pagerduty_configs`
with the key as routing key and Vigil's Events API v2 URL.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from bench.embedded import free_port
from tests.live import (
    Integration,
    LiveVigil,
    Process,
    wait_until,
)

T = TypeVar("T")
INSTALL = "install Debian's prometheus-alertmanager package (it brings amtool)"


class Alertmanager:
    def __init__(self, process: Process, url: str, amtool: str) -> None:
        self.process, self.url, self.amtool = process, url, amtool

    def add(
        self, labels: dict[str, str], summary: str, end: datetime | None = None
    ) -> None:
        """Send an alert with amtool; an `end` that has passed resolves it."""
        argv = [
            self.amtool,
            f"--alertmanager.url={self.url}",
            "alert",
            "add",
            *(f"{name}={value}" for name, value in labels.items()),
            f"--annotation=summary={summary}",
        ]
        if end is not None:
            argv.append(f"--end={end.isoformat(timespec='milliseconds')}")
        done = subprocess.run(  # noqa: S603
            argv, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def resolve(self, labels: dict[str, str], summary: str) -> None:
        # Ending now (past by the time it arrives), after the alert started,
        # updates the alert Alertmanager has rather than replacing it.
        self.add(labels, summary, end=datetime.now(UTC))


def configuration(
    vigil: str, webhook: Integration, pagerduty: Integration
) -> dict[str, Any]:
    return {
        # Longer than the tests: only the ends they send resolve an alert.
        "global": {"resolve_timeout": "2m"},
        "route": {
            "receiver": "nobody",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            "routes": [
                {"matchers": ['receiver="webhook"'], "receiver": "vigil-webhook"},
                {"matchers": ['receiver="pagerduty"'], "receiver": "vigil-pagerduty"},
            ],
        },
        "receivers": [
            {"name": "nobody"},
            {
                "name": "vigil-webhook",
                "webhook_configs": [
                    {
                        "url": f"{vigil}/ingest/alertmanager/",
                        "send_resolved": True,
                        "http_config": {
                            "authorization": {
                                "type": "Bearer",
                                "credentials": webhook.key,
                            }
                        },
                    }
                ],
            },
            {
                "name": "vigil-pagerduty",
                "pagerduty_configs": [
                    {
                        "routing_key": pagerduty.key,
                        "url": f"{vigil}/v2/enqueue",
                        "send_resolved": True,
                    }
                ],
            },
        ],
    }


@pytest.fixture(scope="module")
def integrations(live_vigil: LiveVigil) -> dict[str, Integration]:
    return {
        "webhook": live_vigil.integration("alertmanager", "Alertmanager webhook"),
        "pagerduty": live_vigil.integration("pagerduty", "Alertmanager PagerDuty"),
    }


@pytest.fixture(scope="module")
def alertmanager(
    live_vigil: LiveVigil,
    integrations: dict[str, Integration],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Alertmanager]:
    binary = shutil.which("prometheus-alertmanager")
    amtool = shutil.which("amtool")
    assert binary, INSTALL
    assert amtool, INSTALL
    tmp = tmp_path_factory.mktemp("alertmanager")
    config = tmp / "alertmanager.yml"  # JSON is YAML
    config.write_text(json.dumps(configuration(live_vigil.url, **integrations)))
    port = free_port()
    process = Process(
        [binary, f"--config.file={config}", f"--storage.path={tmp / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
         "--log.level=debug"],
        {},
        tmp / "log",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert process.popen.poll() is None, process.log.read_text()[-3000:]
            try:
                return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(ready, "Alertmanager to be ready", seconds=30)
        yield Alertmanager(process, url, amtool)
    finally:
        process.stop(timeout=10)


def settle(
    probe: Callable[[], T | None],
    what: str,
    vigil: LiveVigil,
    alertmanager: Alertmanager,
    integration: Integration,
) -> T:
    """wait_until, and on a time-out say what each side saw."""
    try:
        return wait_until(probe, what)
    except AssertionError as error:
        events = [
            (e["action"], e["outcome"], e["payload"]) for e in vigil.events(integration)
        ]
        raise AssertionError(
            f"{error}\nVigil received: {events}\n"
            f"Alertmanager log:\n{alertmanager.process.log.read_text()[-3000:]}\n"
            f"Vigil log:\n{vigil.stack.log.read_text()[-3000:]}"
        ) from None


def test_alerts_of_one_group_open_one_incident_which_resolves_with_them(
    live_vigil: LiveVigil,
    alertmanager: Alertmanager,
    integrations: dict[str, Integration],
) -> None:
    webhook = integrations["webhook"]
    before = live_vigil.get("/api/v1/incidents/")["count"]
    group = {"alertname": "DiskFull", "receiver": "webhook", "severity": "critical"}
    db1, db2 = group | {"instance": "db-1"}, group | {"instance": "db-2"}

    alertmanager.add(db1, "Disk full on db-1")
    [first] = settle(
        lambda: [a for a in live_vigil.alerts(webhook) if a["incident"]],
        "the first alert's incident",
        live_vigil,
        alertmanager,
        webhook,
    )
    public_id = first["incident"]
    incident = live_vigil.incident(public_id)
    assert incident["title"] == "Disk full on db-1"
    assert incident["status"] == "triggered"

    def both_placed() -> list[dict[str, Any]] | None:
        alerts = live_vigil.alerts(webhook)
        return (
            alerts if len(alerts) == 2 and all(a["incident"] for a in alerts) else None
        )

    alertmanager.add(db2, "Disk full on db-2")
    alerts = settle(
        both_placed,
        "the second alert of the group",
        live_vigil,
        alertmanager,
        webhook,
    )
    assert {a["incident"] for a in alerts} == {public_id}
    assert live_vigil.get("/api/v1/incidents/")["count"] == before + 1
    attached = [
        e for e in live_vigil.timeline(public_id) if e["kind"] == "alert_attached"
    ]
    assert len(attached) == 2
    assert [e["data"]["dedup_key"] for e in attached] == [
        first["dedup_key"],
        next(a["dedup_key"] for a in alerts if a["id"] != first["id"]),
    ]
    assert attached[1]["message"].endswith("Disk full on db-2")

    live_vigil.verify(public_id)  # a P1 resolves by itself once verified
    alertmanager.resolve(db1, "Disk full on db-1")
    alertmanager.resolve(db2, "Disk full on db-2")
    settle(
        lambda: live_vigil.incident(public_id)["status"] == "resolved",
        "the incident to resolve",
        live_vigil,
        alertmanager,
        webhook,
    )
    assert {a["status"] for a in live_vigil.alerts(webhook)} == {"resolved"}


def test_the_pagerduty_receiver_opens_an_incident_and_resolves_it(
    live_vigil: LiveVigil,
    alertmanager: Alertmanager,
    integrations: dict[str, Integration],
) -> None:
    pagerduty = integrations["pagerduty"]
    labels = {"alertname": "CheckoutErrors", "receiver": "pagerduty"}

    alertmanager.add(labels, "Checkout answers 5xx")
    [alert] = settle(
        lambda: [a for a in live_vigil.alerts(pagerduty) if a["incident"]],
        "the incident of the PagerDuty receiver",
        live_vigil,
        alertmanager,
        pagerduty,
    )
    # Alertmanager's dedup key is the hash of its group key, so that its
    # resolve finds the alert its trigger opened.
    group_key = '{}/{receiver="pagerduty"}:{alertname="CheckoutErrors"}'
    assert alert["dedup_key"] == hashlib.sha256(group_key.encode()).hexdigest()
    assert alert["source"] == "pagerduty"
    public_id = alert["incident"]
    assert live_vigil.incident(public_id)["status"] == "triggered"

    alertmanager.resolve(labels, "Checkout answers 5xx")
    settle(
        lambda: live_vigil.incident(public_id)["status"] == "resolved",
        "the incident to resolve",
        live_vigil,
        alertmanager,
        pagerduty,
    )
    [alert] = live_vigil.alerts(pagerduty)
    assert alert["status"] == "resolved"
