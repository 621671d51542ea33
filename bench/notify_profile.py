"""Where a delivery's time goes: the send path in-process, counted exactly.

Run from the project root (PostgreSQL and RabbitMQ on 127.0.0.1 as for
bench.notify):

    .venv/bin/python -m bench.notify_profile             # counts only
    .venv/bin/python -m bench.notify_profile --profile   # and cProfile's top

Unlike bench.notify, no worker runs: this process writes `--batches`
notifications to `--channels` webhook channels (the bench's broadcast), then
runs the task body, `deliveries_send()`, on each task message's ids in turn,
exactly as a worker process would (the first message untimed, as a
warm-up), against the local receiver (bench/receiver.py) on a scratch
PostgreSQL database and RabbitMQ vhost. It prints, per delivery: CPU time of
this process (what a worker spends), of its PostgreSQL backend and of the
receiver, the same for writing the deliveries, SQL queries, and messages
published to RabbitMQ (task messages and live events). CPU time and counts
depend far less than wall-clock throughput on what else runs on the
machine.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cpu import TICK
from bench.notify import _setup, _stats, scratch_stack


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time process `pid` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _count_publishes(counter: Counter[str]) -> None:
    """Count every message this process publishes, by exchange."""
    from kombu import Producer

    original = Producer.publish

    def publish(self: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        exchange = kwargs.get("exchange") or self.exchange
        counter[getattr(exchange, "name", exchange) or "(default)"] += 1
        return original(self, body, *args, **kwargs)

    Producer.publish = publish  # type: ignore[method-assign]


def _task_batches(incident: Any, channels: int, batches: int) -> list[list[int]]:
    """Write the notifications; return the id lists their task messages carry."""
    from django.db import transaction

    from notifications.services import notify
    from notifications.tasks import deliveries_send_task

    messages: list[list[int]] = []
    original = deliveries_send_task.delay

    def keep(*, delivery_ids: list[int]) -> None:
        messages.append(list(delivery_ids))

    deliveries_send_task.delay = keep  # type: ignore[method-assign]
    try:
        for i in range(batches):
            with transaction.atomic():
                notify(incident=incident, message_kind="update", event_key=f"b{i}",
                       extra={"update": {"text": f"Update {i}"}})  # fmt: skip
    finally:
        deliveries_send_task.delay = original  # type: ignore[method-assign]
    assert sum(map(len, messages)) == channels * batches, "every delivery enqueued"
    return messages


def measure(
    incident: Any, channels: int, batches: int, profile: bool, receiver: int
) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from notifications.services import deliveries_send

    published: Counter[str] = Counter()
    _count_publishes(published)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    others = {"postgres": backend, "receiver": receiver}
    before = {name: _cpu_seconds(pid) for name, pid in others.items()}
    cpu = time.process_time()
    messages = _task_batches(incident, channels, batches)
    written = time.process_time() - cpu, _cpu_seconds(backend) - before["postgres"]
    # A first task message untimed: a process's first send imports and sets
    # up what every later one reuses (URL resolvers, TLS context).
    deliveries_send(delivery_ids=messages.pop(0))
    published.clear()
    total = sum(map(len, messages))
    profiler = cProfile.Profile(time.process_time) if profile else None
    kinds: Counter[str] = Counter()
    before = {name: _cpu_seconds(pid) for name, pid in others.items()}
    with CaptureQueriesContext(connection) as queries:
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        outcomes: Counter[str] = Counter()
        for ids in messages:
            outcomes.update(deliveries_send(delivery_ids=ids))
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    used = {name: _cpu_seconds(pid) - before[name] for name, pid in others.items()}
    captured = queries.captured_queries
    for query in captured:
        kinds[query["sql"].split(None, 1)[0].upper()] += 1
    reset_queries()
    per_delivery = 1000 / (channels * batches)
    result = {
        "writing": {
            "cpu_ms_per_delivery": round(written[0] * per_delivery, 3),
            "postgres_backend_cpu_ms_per_delivery": round(written[1] * per_delivery, 3),
        },
        "deliveries": total,
        "task_messages": len(messages),
        "outcomes": dict(outcomes),
        "cpu_ms_per_delivery": round(cpu * 1000 / total, 3),
        "postgres_backend_cpu_ms_per_delivery": round(
            used["postgres"] * 1000 / total, 3
        ),
        "receiver_cpu_ms_per_delivery": round(used["receiver"] * 1000 / total, 3),
        "wall_ms_per_delivery": round(wall * 1000 / total, 3),
        "queries_per_delivery": round(len(captured) / total, 2),
        "queries_by_verb": dict(kinds),
        "publishes_per_delivery": round(sum(published.values()) / total, 3),
        "publishes_by_exchange": dict(published),
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(45)
        result["profile"] = out.getvalue()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--batches", type=int, default=21)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        env, port, receiver = scratch_stack(stack)
        os.environ.update(env)
        import django

        django.setup()
        # The incident's own initial notification is written (and enqueued to
        # the scratch vhost, where nobody consumes it) with the incident.
        incident, _user = _setup(port, args.channels)
        result = measure(
            incident, args.channels, args.batches, args.profile, receiver.pid
        )
        result["received_with_warm_up"] = _stats(port)["count"]
    profile = result.pop("profile", "")
    print(json.dumps(result, indent=2))
    if profile:
        print(profile)


if __name__ == "__main__":
    main()
