"""Storm isolation: a new P0 is paged on time while another service storms.

On the shared stack (bench/shared.py). Integration A sends triggers with a
dedup key of their own as fast as the stack takes them (`wrk`, closed loop),
each opening an incident whose policy pages 3 people on 2 contact methods
(webhook, Slack) and that tells 5 channels, all at the local receiver.
Integration B, on another service, sends one P0 every 2 s (open loop),
paging one person by webhook. B's time-to-page (arrival of its first page
minus the moment its POST was sent) is measured twice in the same run:
quiet (A silent), then during A's storm. A's figures: accepted events/s,
events stored for every accepted request, and pages or channel messages
that arrived twice. A's backlog is not waited for (a storm at the stack's
limit leaves tens of thousands of incidents to page); B's are, each exactly
once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

from bench.load import ClosedLoop, open_loop, trigger_body, wrk
from bench.openloop import percentile
from bench.paging import _first_page_by_key, _paged_service
from bench.receiver import duplicates, reset, wait_for
from bench.results import verdicts
from bench.stack import Stack

B_RATE = 0.5  # one P0 every 2 s
CONNECTIONS = 16  # A's closed loop: bench.ingest's usual best level
A_PAGED = 3
A_KINDS = ("webhook", "slack")
A_CHANNELS = 5


def _storming_service(port: int) -> str:
    """Service A: 3 responders on 2 methods each, and 5 channels."""
    from incidents.models import Service
    from notifications.models import Channel, Kind

    key = _paged_service("Bench storm A", port, A_PAGED, A_KINDS)
    service = Service.objects.get(name="Bench storm A")
    Channel.objects.bulk_create(
        Channel(
            name=f"#storm-{n}",
            kind=Kind.WEBHOOK,
            address=f"http://127.0.0.1:{port}/storm-a/channel/{n}",
            secret=secrets.token_hex(16),
            service=service,
        )
        for n in range(A_CHANNELS)
    )
    return key


def _p0_body(key: str) -> str:
    body = json.loads(trigger_body(key))
    body["payload"]["custom_details"] = {"vigil_severity": "P0"}
    return json.dumps(body, separators=(",", ":"))


def _b_pages(stack: Stack, body: str, seconds: float, run: str) -> dict[str, Any]:
    """B's P0s for `seconds`, then each one's time to its first page."""
    sent = open_loop(
        stack.port, "/v2/enqueue", body,
        rate=B_RATE, seconds=seconds, run=run, record_sent=True,
    )  # fmt: skip
    accepted = sent["statuses"].get("202", 0)
    deadline = time.monotonic() + 120
    while len(_paged(stack, sent)) < accepted and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # any duplicate has had time to arrive
    pages = _paged(stack, sent)
    waits = sorted(
        (min(pages[k]) - t) * 1000 for k, t in sent["sent_at"].items() if k in pages
    )
    return {
        "alerts": len(sent["sent_at"]),
        "post_statuses": sent["statuses"],
        "p50_ms": round(percentile(waits, 50), 1),
        "p90_ms": round(percentile(waits, 90), 1),
        "p99_ms": round(percentile(waits, 99), 1),
        "max_ms": round(waits[-1], 1) if waits else 0.0,
        "lost": len(sent["sent_at"]) - len(waits),
        "duplicates": sum(len(times) - 1 for times in pages.values()),
        "latencies_ms": [round(w, 1) for w in waits],
        "stages_ms": _stages(list(sent["sent_at"])),
    }


def _stages(dedup_keys: list[str]) -> dict[str, dict[str, float]]:
    """Where B's time went, from the rows: the event stored → applied (the
    ingest task), → its page claimed (waiting for the pages task), → sent."""
    from notifications.models import Delivery

    rows = Delivery.objects.filter(
        purpose=Delivery.Purpose.PAGE, incident__alert_events__dedup_key__in=dedup_keys
    ).values_list(
        "incident__alert_events__received_at",
        "incident__alert_events__processed_at",
        "claimed_at",
        "sent_at",
    )
    spans: dict[str, list[float]] = {"applied": [], "claimed": [], "sent": []}
    for received, processed, claimed, sent in rows:
        if None in (received, processed, claimed, sent):
            continue
        spans["applied"].append((processed - received).total_seconds() * 1000)
        spans["claimed"].append((claimed - processed).total_seconds() * 1000)
        spans["sent"].append((sent - claimed).total_seconds() * 1000)
    return {
        name: {
            "p50": round(percentile(sorted(v), 50), 1),
            "max": round(max(v), 1) if v else 0.0,
        }
        for name, v in spans.items()
    }


def _paged(stack: Stack, sent: dict[str, Any]) -> dict[str, list[float]]:
    """Arrivals of the pages of the alerts in `sent`, by dedup key."""
    arrivals = wait_for(stack.receiver_port, 0, 0)["arrivals"]
    return {
        key: times
        for key, times in _first_page_by_key(arrivals).items()
        if key in sent["sent_at"]
    }


def _a_stored(key_prefix: str) -> int:
    from incidents.models import AlertEvent

    return AlertEvent.objects.filter(dedup_key__startswith=key_prefix).count()


def run(stack: Stack, seconds: float) -> dict[str, Any]:
    """Quiet, then storm; B's time-to-page in each, A's rate and counts."""
    port = stack.receiver_port
    a_key = _storming_service(port)
    b_body = _p0_body(_paged_service("Bench P0 B", port, 1, ("webhook",)))

    reset(port)
    quiet = _b_pages(stack, b_body, seconds, "quiet-b")

    reset(port)
    a_run = f"storm-a-{secrets.token_hex(3)}"
    storm: dict[str, Any] = {}

    def load_a() -> None:
        storm["a"] = wrk(
            stack.url("/v2/enqueue"), trigger_body(a_key),
            connections=CONNECTIONS, seconds=seconds + 4, run=a_run,
        )  # fmt: skip

    loader = threading.Thread(target=load_a)
    loader.start()
    time.sleep(2.0)  # A at full rate before B's first alert
    during = _b_pages(stack, b_body, seconds, "storm-b")
    loader.join()
    a: ClosedLoop = storm["a"]
    arrivals = wait_for(port, 0, 0)["arrivals"]
    # By delivery id (X-Vigil-Delivery): Slack messages carry none, and the
    # receiver keys them by path, the same for every incident's page.
    a_arrivals = {
        k: v for k, v in arrivals.items() if k.isdigit() and k not in _b_ids(arrivals)
    }
    a_figures = {
        "connections": a.connections,
        "seconds": round(a.seconds, 1),
        "accepted": a.accepted,
        "events_per_s": round(a.rate, 1),
        "errors": a.errors,
        # wrk counts the requests answered within its time; the last few
        # answered after it are stored too.
        "stored": (stored := _a_stored(a_run)),
        "lost": max(0, a.accepted - stored),
        "webhook_deliveries_received": len(a_arrivals),
        "duplicates": duplicates(a_arrivals),
    }
    figures = {
        "storm_p99_ms": during["p99_ms"],
        "storm_p99_over_quiet_p99": round(
            during["p99_ms"] / quiet["p99_ms"] if quiet["p99_ms"] else 0.0, 2
        ),
        "lost": quiet["lost"] + during["lost"] + a_figures["lost"],
        "duplicates": quiet["duplicates"]
        + during["duplicates"]
        + a_figures["duplicates"],
    }
    return {
        "scenario": "storm-isolation",
        "seconds": seconds,
        "b_rate_per_s": B_RATE,
        "a_paged": f"{A_PAGED} people x {len(A_KINDS)} methods, {A_CHANNELS} channels",
        "b_quiet": quiet,
        "b_storm": during,
        "a_storm": a_figures,
        **figures,
        "targets": verdicts(figures, TARGETS),
    }


def compare_to_ingest(result: dict[str, Any], ingest: dict[str, Any]) -> None:
    """Add A's rate as a share of what bench.ingest sustained alone, in the
    same run, and its target."""
    alone = ingest["scenarios"]["1_throughput_vigil"]["max_events_per_s"]
    a = result["a_storm"]
    a["ingest_alone_events_per_s"] = alone
    a["ratio_to_ingest_alone"] = round(a["events_per_s"] / alone, 2) if alone else 0.0
    result["targets"] |= verdicts(
        {"a_ratio_to_ingest_alone": a["ratio_to_ingest_alone"]},
        {"a_ratio_to_ingest_alone": (">=", 0.8)},
    )


def _b_ids(arrivals: dict[str, list[float]]) -> set[str]:
    """The receiver's keys of B's pages (delivery ids to B's responder)."""
    from notifications.models import Delivery

    ids = [key for key in arrivals if key.isdigit()]
    return {
        str(pk)
        for pk in Delivery.objects.filter(
            pk__in=ids, incident__service__name="Bench P0 B"
        ).values_list("pk", flat=True)
    }


TARGETS = {
    "storm_p99_ms": ("<=", 1000.0),
    "storm_p99_over_quiet_p99": ("<=", 3.0),
    "lost": ("<=", 0),
    "duplicates": ("<=", 0),
}
