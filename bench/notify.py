"""Benchmark of notification delivery through RabbitMQ to a webhook receiver.

Run from the project root (PostgreSQL and RabbitMQ on 127.0.0.1 as for
bench.ingest):

    .venv/bin/python -m bench.notify            # about a minute

It makes a scratch database and RabbitMQ vhost, starts a Celery worker on the
`notifications` queue with 2 processes and a local webhook receiver
(bench/receiver.py), and measures, from this process:

1. throughput: `notify()` to 50 webhook channels, 60 times (3,000
   deliveries), as fast as it returns; deliveries/s from the first call to
   the last request received, and where the machine's CPU went meanwhile;
2. latency on an idle system: `page_user()` at a steady rate, one webhook
   page each; from the transaction that wrote it returning (the task is
   enqueued on commit) to the receiver getting the request: p50/p99/max.

Each delivery takes the product's real path: claim, render the SOP
template, sign, POST through the SSRF guard, record, timeline entry, live
event. Prints a table and writes bench/results/notify.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cpu
from bench.openloop import percentile
from bench.receiver import duplicates, reset, wait_for
from bench.results import RESULTS, verdicts, write
from bench.stack import (
    consuming,
    prepare,
    spawn_receiver,
    spawn_worker,
    stop,
    until,
)

TARGETS = {"deliveries_per_s": (">=", 300.0), "p99_ms_idle": ("<=", 300.0)}


def scratch_stack(
    stack: contextlib.ExitStack,
) -> tuple[dict[str, str], int, subprocess.Popen[bytes]]:
    """Make a migrated scratch database and vhost, and start the receiver.

    Return the environment of Vigil's processes, the receiver's port and
    process; `stack` drops and stops them all.
    """
    st = prepare(stack)
    receiver, port = spawn_receiver(st.env, st.var_dir)
    st.others["receiver"] = receiver
    return st.env, port, receiver


def _setup(port: int, channels: int) -> tuple[Any, Any]:
    """Create a service with `channels` webhook channels and a paged user."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from incidents.models import SeverityLevel
    from incidents.services import incident_create, service_create, team_create
    from notifications.models import Channel, ContactMethod, Kind

    service = service_create(name="Bench notify", team=team_create(name="Bench"))
    base = f"http://127.0.0.1:{port}"
    key = secrets.token_hex(16)
    Channel.objects.bulk_create(
        Channel(
            name=f"#c{i}",
            kind=Kind.WEBHOOK,
            address=f"{base}/c{i}",
            secret=key,
            service=service,
        )
        for i in range(channels)
    )
    user = User.objects.create(username="pager")
    ContactMethod.objects.create(
        user=user, kind=Kind.WEBHOOK, address=f"{base}/page", secret=key,
        verified_at=timezone.now(),
    )  # fmt: skip
    incident = incident_create(
        title="Bench incident", severity=SeverityLevel.objects.get(code="P1"),
        service=service,
    )  # fmt: skip
    return incident, user


def throughput(
    port: int, incident: Any, channels: int, batches: int, meter: cpu.Meter
) -> dict[str, Any]:
    from django.db import transaction

    from notifications.services import notify

    wait_for(port, channels, 60)  # the incident's own initial notification
    time.sleep(1)
    reset(port)
    total = channels * batches
    with meter:
        started = time.time()
        for i in range(batches):
            with transaction.atomic():
                notify(incident=incident, message_kind="update", event_key=f"b{i}",
                       extra={"update": {"text": f"Update {i}"}})  # fmt: skip
        written = time.time()
        stats = wait_for(port, total, 600)
    last = max(t for times in stats["arrivals"].values() for t in times)
    return {
        "deliveries": total,
        "received": stats["count"],
        "duplicates": duplicates(stats["arrivals"]),
        "write_seconds": round(written - started, 3),
        "seconds": round(last - started, 3),
        "deliveries_per_s": round(total / (last - started), 1),
        # Where the machine's CPU went meanwhile, in cores: "load generator"
        # is this process writing the deliveries, "other" whatever else ran.
        "cpu": meter.usage(),
    }


def latency(
    port: int, incident: Any, user: Any, pages: int, rate: float
) -> dict[str, Any]:
    from django.db import transaction

    from notifications.services import page_user

    time.sleep(2)  # let the worker go idle
    reset(port)
    returned: dict[str, float] = {}
    start = time.monotonic()
    for i in range(pages):
        pause = start + i / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        with transaction.atomic():
            (delivery,) = page_user(incident=incident, user=user, event_key=f"p{i}")
        returned[str(delivery.pk)] = time.time()
    stats = wait_for(port, pages, 120)
    arrivals = stats["arrivals"]
    waits = sorted(
        (arrivals[key][0] - t) * 1000 for key, t in returned.items() if key in arrivals
    )
    return {
        "pages": pages,
        "rate_per_s": rate,
        "received": stats["count"],
        "duplicates": duplicates(arrivals),
        "p50_ms": round(percentile(waits, 50), 1),
        "p90_ms": round(percentile(waits, 90), 1),
        "p99_ms": round(percentile(waits, 99), 1),
        "max_ms": round(waits[-1], 1) if waits else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "notify.json")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        env, port, receiver = scratch_stack(stack)
        log = Path(env["VIGIL_VAR_DIR"]) / "worker.log"
        worker = spawn_worker(
            env, log, queues="pages,notifications", concurrency=args.concurrency
        )
        stack.callback(stop, worker)
        broker = env["CELERY_BROKER_URL"]
        until(
            "the worker",
            lambda: consuming(broker, ["notifications"]),
            proc=worker,
            log=log,
        )
        os.environ.update(env)
        import django

        django.setup()
        incident, user = _setup(port, args.channels)
        meter = cpu.Meter(
            {worker.pid: "celery worker", receiver.pid: "receiver"},
            env["DATABASE_URL"].rsplit("/", 1)[1],
        )
        bulk = throughput(port, incident, args.channels, args.batches, meter)
        idle = latency(port, incident, user, args.pages, args.rate)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": {
            "database": "PostgreSQL",
            "broker": "RabbitMQ",
            "worker": f"celery prefork, --concurrency {args.concurrency}",
            "receiver": "asyncio HTTP server in its own process",
        },
        "throughput": bulk,
        "latency_idle": idle,
        "targets": verdicts(
            {
                "deliveries_per_s": bulk["deliveries_per_s"],
                "p99_ms_idle": idle["p99_ms"],
            },
            TARGETS,
        ),
    }
    write(result, args.output)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
