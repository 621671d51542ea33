"""Benchmark of escalation punctuality: 2,000 incidents, steps due over a minute.

Run from the project root (PostgreSQL and RabbitMQ on 127.0.0.1 as for
bench.ingest):

    .venv/bin/python -m bench.escalation          # about four minutes

It makes a scratch database and RabbitMQ vhost, starts one Celery worker
(4 processes, as the README recommends for 2 cores; queues `escalation`
and `notifications`), Celery beat (the
sweep every second) and a local webhook receiver (bench/receiver.py). Then
it declares 2,000 P1 incidents on a service whose policy pages one person
at level 1 and another at level 2, waits until the level-1 pages have all
arrived, and puts the 2,000 level-2 steps due evenly over the next minute
(each escalation's due time, and its step task sent with that ETA, as the
engine does). The worker fires them and sends their pages meanwhile.

It reports the lateness of each level-2 step (fired_at - due_at, both taken
from the database rows the engine writes): p50/p99/max, and duplicates:
steps fired twice for one level, and pages the receiver got twice. Prints a
table and writes bench/results/escalation.json.

`run()` is the scenario alone, on a stack that is already running (with
Django set up in this process): `python -m bench` runs it on its shared one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import cpu
from bench.notify import scratch_stack
from bench.openloop import percentile
from bench.receiver import duplicates, reset, stats, wait_for
from bench.results import RESULTS, verdicts, write
from bench.stack import spawn_beat, spawn_worker, stop

TARGETS = {
    "p99_lateness_s": ("<=", 2.0),
    "max_lateness_s": ("<=", 5.0),
    "duplicates": ("<=", 0),
}
NAME = "Bench escalation"


def _setup(port: int, wait: timedelta) -> Any:
    """Create a service whose two-level policy pages two webhook users."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from escalation.models import EscalationLevel, EscalationPolicy, EscalationTarget
    from incidents.services import service_create, team_create
    from notifications.models import ContactMethod, Kind

    team = team_create(name=NAME)
    policy = EscalationPolicy.objects.create(name=NAME, team=team)
    for position in (1, 2):
        user = User.objects.create(username=f"escalation-level{position}")
        ContactMethod.objects.create(
            user=user, kind=Kind.WEBHOOK, address=f"http://127.0.0.1:{port}/u{position}",
            secret=secrets.token_hex(16), verified_at=timezone.now(),
        )  # fmt: skip
        level = EscalationLevel.objects.create(
            policy=policy, position=position, name=f"L{position}", delay=wait
        )
        EscalationTarget.objects.create(level=level, kind="user", user=user)
    service = service_create(name=NAME, team=team)
    service.escalation_policy = policy
    service.save()
    return service


def declare(service: Any, incidents: int) -> float:
    """Declare `incidents` P1 incidents; return how long it took."""
    from incidents.models import SeverityLevel
    from incidents.services import incident_create

    p1 = SeverityLevel.objects.get(code="P1")
    start = time.monotonic()
    for i in range(incidents):
        incident_create(title=f"Bench {i}", severity=p1, service=service)
    return time.monotonic() - start


def spread(service: Any, over: float, lead: float) -> None:
    """Make the level-2 steps come due evenly over `over` seconds from `lead` on.

    The declarations took longer than that; this puts each escalation's next
    step at its place in the minute, then sends its step task with that ETA
    as the engine does when it moves an escalation on. Firing is all the
    engine's own path.
    """
    from django.utils import timezone

    from escalation.models import Escalation
    from escalation.tasks import escalation_step_task

    start = timezone.now() + timedelta(seconds=lead)
    ids = list(
        Escalation.objects.filter(incident__service=service)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for i, pk in enumerate(ids):
        due = start + timedelta(seconds=over * i / len(ids))
        Escalation.objects.filter(pk=pk).update(due_at=due)
        escalation_step_task.apply_async(kwargs={"escalation_id": pk}, eta=due)


def measure(service: Any, port: int, incidents: int, timeout: float) -> dict[str, Any]:
    from django.db.models import Count

    from escalation.models import EscalationStep

    steps = EscalationStep.objects.filter(escalation__incident__service=service)
    second = steps.filter(level=2, cause="escalation")
    deadline = time.monotonic() + timeout
    while second.count() < incidents and time.monotonic() < deadline:
        time.sleep(1)
    wait_for(port, 2 * incidents, 120)  # every page of both levels
    time.sleep(5)  # any duplicate task or sweep has had time to act
    rows = sorted(second.values_list("due_at", "fired_at"))
    start = rows[0][0] if rows else None
    # Each step: when in the minute it was due, and how late it fired.
    series = [
        ((due - start).total_seconds(), (fired - due).total_seconds())
        for due, fired in rows
        if start is not None
    ]
    late = sorted(lateness for _, lateness in series)
    slow = [round(at, 1) for at, lateness in series if lateness > 1]
    twice = (
        steps.values("escalation", "level", "run", "repeat", "cause")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    got = stats(port)
    return {
        "steps_due": incidents,
        "steps_fired": len(late),
        "p50_lateness_s": round(percentile(late, 50), 3),
        "p99_lateness_s": round(percentile(late, 99), 3),
        "max_lateness_s": round(late[-1], 3) if late else None,
        "steps_over_1s_late": len(slow),
        "over_1s_late_due_at_s": slow[:40],
        "steps_fired_twice": twice,
        "pages_received": len(got["arrivals"]),
        "pages_received_twice": duplicates(got["arrivals"]),
        "series_due_s_lateness_s": [[round(a, 3), round(b, 4)] for a, b in series],
    }


def run(
    port: int, sessions: dict[int, str], database: str, incidents: int, over: float
) -> dict[str, Any]:
    """Run the scenario on a running stack: workers, beat, receiver on `port`.

    Django must be set up in this process, on the stack's database.
    """
    service = _setup(port, timedelta(hours=1))
    reset(port)
    took = declare(service, incidents)
    wait_for(port, incidents, 600)  # the level-1 pages: the workers are idle
    meter = cpu.Meter(sessions, database)
    with meter:
        spread(service, over, lead=10)
        figures = measure(service, port, incidents, timeout=over + 120)
    figures["cpu"] = meter.usage()
    figures["declare_seconds"] = round(took, 1)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "setup": {"incidents": incidents, "due_over_seconds": over},
        "lateness": figures,
        "targets": verdicts(
            {
                "p99_lateness_s": figures["p99_lateness_s"],
                "max_lateness_s": figures["max_lateness_s"] or 0.0,
                "duplicates": figures["steps_fired_twice"]
                + figures["pages_received_twice"],
            },
            TARGETS,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--over", type=float, default=60.0, help="seconds")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--output", type=Path, default=RESULTS / "escalation.json")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        env, port, _ = scratch_stack(stack)
        var_dir = Path(env["VIGIL_VAR_DIR"])
        worker = spawn_worker(
            env, var_dir / "worker.log", queues="escalation,pages,notifications",
            concurrency=args.concurrency,
        )  # fmt: skip
        stack.callback(stop, worker)
        beat = spawn_beat(env, var_dir)
        stack.callback(stop, beat)
        os.environ.update(env)
        import django

        django.setup()
        result = run(
            port,
            {worker.pid: "celery worker", beat.pid: "celery beat"},
            env["DATABASE_URL"].rsplit("/", 1)[1],
            args.incidents,
            args.over,
        )
    result["setup"] |= {
        "database": "PostgreSQL",
        "broker": "RabbitMQ",
        "worker": f"celery prefork, --concurrency {args.concurrency}, "
        "queues escalation + notifications",
        "beat": "django-celery-beat, escalation sweep every 1 s",
    }
    write(result, args.output)
    shown = {k: v for k, v in result["lateness"].items() if not k.startswith("series")}
    print(json.dumps(result | {"lateness": shown}, indent=2))


if __name__ == "__main__":
    main()
