"""From an alert to the people it pages: time-to-page and fan-out.

Both run on the shared stack (bench/shared.py), with Django set up in this
process on its database, and every page going to the local receiver.

- time-to-page: a service whose policy's level 1 pages one person by
  webhook; alerts POSTed to `/v2/enqueue` at a steady rate (open loop, each
  with a dedup key of its own, so each opens an incident and pages); the
  latency of each is the receiver's arrival time of its first page minus the
  moment the POST was sent (both `time.time()` on this machine).
- fan-out: one P0 alert on a service whose level 1 pages 50 responders, each
  with three contact methods (webhook, Slack, Teams, all aimed at the
  receiver: 150 deliveries); the time from the POST to the first and the
  last arrival, and that each arrived exactly once.
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from typing import Any

from bench.load import open_loop, trigger_body
from bench.openloop import percentile
from bench.receiver import duplicates, reset, wait_for
from bench.results import verdicts
from bench.stack import Stack, until

TIME_TO_PAGE_TARGETS = {
    "p50_ms": ("<=", 150.0),
    "p99_ms": ("<=", 1000.0),
    "lost": ("<=", 0),
    "duplicates": ("<=", 0),
}
FANOUT_TARGETS = {"lost": ("<=", 0), "duplicates": ("<=", 0)}
FANOUT_KINDS = ("webhook", "slack", "teams")


def _paged_service(
    name: str, port: int, responders: int, kinds: tuple[str, ...]
) -> str:
    """Create a service, its integration, and a policy whose level 1 pages
    `responders` people, each on every kind of `kinds` (at the receiver).

    Return the integration key.
    """
    from django.contrib.auth.models import User
    from django.utils import timezone

    from escalation.models import EscalationLevel, EscalationPolicy, EscalationTarget
    from incidents.services import integration_create, service_create, team_create
    from notifications.models import ContactMethod

    team = team_create(name=name)
    policy = EscalationPolicy.objects.create(name=name, team=team)
    level = EscalationLevel.objects.create(policy=policy, position=1, name="L1")
    slug = name.lower().replace(" ", "-")
    for i in range(responders):
        user = User.objects.create(username=f"{slug}-{i}")
        ContactMethod.objects.bulk_create(
            ContactMethod(
                user=user,
                kind=kind,
                verified_at=timezone.now(),
                address=f"http://127.0.0.1:{port}/{slug}/{i}/{kind}",
                secret=secrets.token_hex(16),
            )
            for kind in kinds
        )
        EscalationTarget.objects.create(level=level, kind="user", user=user)
    service = service_create(name=name, team=team)
    service.escalation_policy = policy
    service.save()
    _, key = integration_create(name=slug, kind="pagerduty", service=service)
    return key


def _first_page_by_key(arrivals: dict[str, list[float]]) -> dict[str, list[float]]:
    """Arrival times of the pages of each alert, by the alert's dedup key."""
    from notifications.models import Delivery

    ids = [key for key in arrivals if key.isdigit()]
    rows = Delivery.objects.filter(pk__in=ids).values_list(
        "pk", "incident__alerts__dedup_key"
    )
    out: dict[str, list[float]] = {}
    for pk, dedup_key in rows:
        out.setdefault(dedup_key, []).extend(arrivals[str(pk)])
    return out


def time_to_page(stack: Stack, alerts: int, rate: float) -> dict[str, Any]:
    """POST `alerts` alerts at `rate` per second; time each to its first page."""
    port = stack.receiver_port
    key = _paged_service("Bench time to page", port, 1, ("webhook",))
    reset(port)
    run = f"ttp-{secrets.token_hex(3)}"
    sent = open_loop(
        stack.port, "/v2/enqueue", trigger_body(key),
        rate=rate, seconds=alerts / rate, run=run, record_sent=True,
    )  # fmt: skip
    accepted = sent["statuses"].get("202", 0)
    got = wait_for(port, accepted, 120)
    pages = _first_page_by_key(got["arrivals"])
    waits = sorted(
        (min(pages[k]) - t) * 1000 for k, t in sent["sent_at"].items() if k in pages
    )
    lost = len(sent["sent_at"]) - len(waits)
    twice = duplicates(got["arrivals"]) + sum(
        len(times) - 1 for times in pages.values()
    )
    figures = {
        "p50_ms": round(percentile(waits, 50), 1),
        "p90_ms": round(percentile(waits, 90), 1),
        "p99_ms": round(percentile(waits, 99), 1),
        "max_ms": round(waits[-1], 1) if waits else 0.0,
        "lost": lost,
        "duplicates": twice,
    }
    return {
        "scenario": "time-to-page",
        "alerts": alerts,
        "rate_per_s": rate,
        "post_statuses": sent["statuses"],
        "post_latency_ms": sent["latency_ms"],
        "pages_received": got["count"],
        **figures,
        "latencies_ms": [round(w, 1) for w in waits],
        "targets": verdicts(figures, TIME_TO_PAGE_TARGETS),
    }


def _post(stack: Stack, body: str) -> tuple[float, int]:
    """POST one alert; return when it was sent (time.time()) and the status."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        sent = time.time()
        conn.request("POST", "/v2/enqueue", body, {"Content-Type": "application/json"})
        return sent, conn.getresponse().status
    finally:
        conn.close()


def fanout(stack: Stack, responders: int, rounds: int) -> dict[str, Any]:
    """One P0 paging `responders` people on three channels each, `rounds` times."""
    port = stack.receiver_port
    key = _paged_service("Bench fanout", port, responders, FANOUT_KINDS)
    expected = responders * len(FANOUT_KINDS)
    results = []
    for n in range(rounds):
        reset(port)
        body = json.loads(trigger_body(key, dedup_key=f"fanout-{n}"))
        body["payload"]["custom_details"] = {"vigil_severity": "P0"}
        sent, status = _post(stack, json.dumps(body))
        got = wait_for(port, expected, 120)
        time.sleep(2)  # any duplicate has had time to arrive
        got = wait_for(port, expected, 0)
        arrivals = sorted((min(t) - sent) * 1000 for t in got["arrivals"].values())
        results.append(
            {
                "post_status": status,
                "received": len(arrivals),
                "lost": expected - len(arrivals),
                "duplicates": duplicates(got["arrivals"]),
                "first_ms": round(arrivals[0], 1) if arrivals else None,
                "last_ms": round(arrivals[-1], 1) if arrivals else None,
                "arrivals_ms": [round(a, 1) for a in arrivals],
            }
        )
        time.sleep(1)
    first = sorted(r["first_ms"] or 0.0 for r in results)
    last = sorted(r["last_ms"] or 0.0 for r in results)
    figures = {
        "lost": sum(r["lost"] for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
    }
    return {
        "scenario": "fanout",
        "responders": responders,
        "channels_each": list(FANOUT_KINDS),
        "deliveries_per_round": expected,
        "rounds": results,
        "median_first_ms": percentile(first, 50),
        "median_last_ms": percentile(last, 50),
        **figures,
        "targets": verdicts(figures, FANOUT_TARGETS),
    }


def resolve_left_open(stack: Stack) -> int:
    """Resolve the incidents a scenario left open, then wait for the queues
    to empty, so that their escalations (the next level, a repeat) and the
    pages they send do not run during the next scenario and slow it down.
    Return how many were resolved."""
    from config.celery import QUEUES
    from incidents.lifecycle import OPEN_STATUSES
    from incidents.models import Incident
    from incidents.services import incident_transition
    from incidents.services.checklists import (
        verification_item_tick,
        verification_open_items,
    )

    left = list(Incident.objects.filter(status__in=OPEN_STATUSES))
    for incident in left:
        # A P0/P1 resolves once verified; nothing to verify in a benchmark.
        for item in verification_open_items(incident=incident):
            verification_item_tick(incident=incident, item_id=item.pk, by=None)
        incident_transition(
            incident=incident,
            to=Incident.Status.RESOLVED,
            by=None,
            via="api",
            reason="benchmark scenario over",
        )
    until(
        "the queues to empty",
        lambda: all(stack.queue_depth(q)[0] == 0 for q in QUEUES),
        seconds=300,
    )
    return len(left)
