"""Benchmark of alert ingestion: POST /v2/enqueue (PagerDuty Events API v2).

Run from the project root:

    .venv/bin/python -m bench.ingest            # the whole benchmark, ~5 min
    .venv/bin/python -m bench.ingest --sweep 2,3,4   # compare gunicorn workers

It starts its own stack (see bench/stack.py), loads it from separate
processes on loopback, prints a table and writes bench/results/ingest.json.

Over 400 lines on purpose: its phases (closed-loop levels, the storm, the
open-loop latency) share one stack, one load generator and one report.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from kombu import Connection

from bench import cpu
from bench.load import ab, open_loop, tool, trigger_body, wrk
from bench.results import RESULTS, verdicts, write
from bench.stack import (
    ROOT,
    Stack,
    exit_on_signals,
    running_stack,
    start_gunicorn,
    stop,
)
from config import gunicorn as gunicorn_settings

T = TypeVar("T")

VIGIL = "/v2/enqueue"
BASELINE = "/baseline/"
# Chosen with --sweep 2,3,4 on the 2-core machines: see bench/README.md.
DEFAULT_WORKERS = 4
LEVELS = (8, 16, 32)
SECONDS = 15
WARMUP_SECONDS = 3
STORM_EVENTS = 10_000
DRAIN_TIMEOUT = 180.0
TARGETS = {
    "ratio_vigil_to_baseline": (">=", 0.7),
    "storm_events_per_s": (">=", 1000.0),
    "p99_ms_at_half_load": ("<=", 50.0),
}
SKIPPED = "bench: skipped"


# --- Measuring -----------------------------------------------------------------


def metered(stack: Stack, run: Callable[[], T]) -> tuple[T, dict[str, Any]]:
    """Run `run`; say where the machine's CPU went meanwhile, and how many
    PostgreSQL checkpoints ran (the server's, whoever asked for them)."""
    checkpoints = _checkpoints(stack)
    with cpu.Meter(stack.sessions(), stack.database) as meter:
        result = run()
    return result, {
        "cpu": meter.usage(),
        "pg_checkpoints": _checkpoints(stack) - checkpoints,
    }


def _checkpoints(stack: Stack) -> int:
    # A checkpoint writes every dirty page of the server, then the first
    # change to each page logs it whole: commits wait longer for a while.
    return int(
        stack.scalar("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
    )


def db_sessions(stack: Stack) -> int:
    """Connections opened to the database so far (PostgreSQL 14+)."""
    return int(
        stack.scalar(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        )
    )


def db_now(stack: Stack) -> datetime:
    now: datetime = stack.scalar("SELECT now()")
    return now


def processed_between(stack: Stack, start: datetime, end: datetime) -> int:
    return int(
        stack.scalar(
            "SELECT count(*) FROM incidents_alertevent"
            " WHERE processed_at >= %s AND processed_at < %s",
            (start, end),
        )
    )


def stored(stack: Stack, path: str) -> int:
    if path == BASELINE:
        return int(stack.scalar("SELECT count(*) FROM bench_baseline"))
    return int(stack.scalar("SELECT count(*) FROM incidents_alertevent"))


def reset_backlog(stack: Stack) -> dict[str, int]:
    """Start the next scenario from an idle worker with nothing pending.

    Events the worker has not processed yet are marked processed (outcome
    SKIPPED) and the task messages still queued for them are purged, so that
    one scenario's backlog does not load the next one.
    """
    with psycopg.connect(stack.dsn) as conn:  # one transaction
        # Lock the integrations first, as the worker does, so that this waits
        # for the worker's batch instead of deadlocking with it.
        conn.execute(
            "SELECT id FROM incidents_integration ORDER BY id FOR NO KEY UPDATE"
        )
        skipped = conn.execute(
            "UPDATE incidents_alertevent SET processed_at = now(), outcome = %s"
            " WHERE processed_at IS NULL",
            (SKIPPED,),
        ).rowcount
    queues = ("ingest", "ingest_backlog", "default")
    purged = stack.purge(*queues) if stack.own_vhost else 0
    _wait_idle(stack)
    return {"events_skipped": int(skipped), "messages_purged": purged}


def _wait_idle(stack: Stack, timeout: float = 60) -> None:
    """Wait until no other session is busy in the database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = stack.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state <> 'idle' AND pid <> pg_backend_pid()"
        )
        if busy == 0:
            return
        time.sleep(0.2)


# --- Scenarios -------------------------------------------------------------------


def closed_loop(stack: Stack, path: str, connections: int, seconds: float) -> dict:
    """One wrk run with distinct dedup keys; what it got and what was stored."""
    body = trigger_body(stack.integrations["load"].key)
    rows, start, sessions = stored(stack, path), db_now(stack), db_sessions(stack)
    run = f"{path.strip('/').replace('/', '-')}-{connections}-{secrets.token_hex(3)}"
    result, usage = metered(
        stack,
        lambda: wrk(
            stack.url(path), body, connections=connections, seconds=seconds, run=run
        ),
    )
    end = db_now(stack)
    opened = db_sessions(stack) - sessions
    out = {
        "connections": connections,
        "seconds": round(result.seconds, 2),
        "requests": result.requests,
        "accepted": result.accepted,
        "events_per_s": round(result.rate, 1),
        "errors": result.errors,
        "rows_stored": stored(stack, path) - rows,
        "latency_ms_closed_loop": result.latency_ms,
        "db_connections_opened_per_s": round(opened / result.seconds, 1),
        **usage,
    }
    if path == VIGIL:
        processed = processed_between(stack, start, end)
        out["worker_processed_per_s"] = round(processed / result.seconds, 1)
    out["reset"] = reset_backlog(stack)
    return out


def throughput(stack: Stack, path: str, levels: list[int], seconds: float) -> dict:
    """Scenario 1 (Vigil) or 4 (baseline): closed loop at each level."""
    wrk(
        stack.url(path),
        trigger_body(stack.integrations["load"].key),
        connections=levels[0],
        seconds=WARMUP_SECONDS,
        run=f"warmup-{secrets.token_hex(3)}",
    )
    reset_backlog(stack)
    runs = [closed_loop(stack, path, c, seconds) for c in levels]
    best = max(runs, key=lambda r: r["events_per_s"])
    return {
        "path": path,
        "generator": "wrk -t1 (closed loop, new dedup key per request)",
        "warmup_s": WARMUP_SECONDS,
        "levels": runs,
        "max_events_per_s": best["events_per_s"],
        "best_connections": best["connections"],
    }


def latency(stack: Stack, rate: float, seconds: float) -> dict:
    """Scenario 2: open loop at a fixed rate, latency from scheduled send time."""
    body = trigger_body(stack.integrations["load"].key)
    result, usage = metered(
        stack,
        lambda: open_loop(
            stack.port, VIGIL, body, rate=rate, seconds=seconds, run="latency"
        ),
    )
    result["generator"] = "bench.openloop (Python asyncio, open loop)"
    result |= usage
    result["reset"] = reset_backlog(stack)
    return result


def storm(stack: Stack, events: int, connections: int) -> dict:
    """Scenario 3: `events` triggers with one dedup key, then the drain."""
    storm_ = stack.integrations["storm"]
    body = trigger_body(storm_.key, dedup_key=f"storm-{secrets.token_hex(4)}")
    burst, usage = metered(
        stack,
        lambda: ab(stack.url(VIGIL), body, requests=events, connections=connections),
    )
    drain_start = time.monotonic()
    drained = _drain(stack)
    drain = time.monotonic() - drain_start
    alert = _storm_alert(stack, storm_.integration_id)
    return {
        "generator": f"ab -c {connections} (closed loop, exactly {events} requests)",
        "events": events,
        "connections": connections,
        "requests_completed": burst.requests,
        "failed": burst.failed,
        "non_2xx": burst.non_2xx,
        "seconds": round(burst.seconds, 2),
        "events_per_s": round(burst.rate, 1),
        "latency_ms_closed_loop": burst.latency_ms,
        **usage,
        "drained": drained,
        "drain_seconds_after_last_request": round(drain, 2),
        "seconds_first_request_to_drained": round(burst.seconds + drain, 2),
        "events_stored": int(
            stack.scalar(
                "SELECT count(*) FROM incidents_alertevent WHERE integration_id = %s",
                (storm_.integration_id,),
            )
        ),
        "incidents_created": int(
            stack.scalar(
                "SELECT count(*) FROM incidents_incident WHERE service_id = %s",
                (storm_.service_id,),
            )
        ),
        **alert,
    }


def storm_baseline(stack: Stack, events: int, connections: int) -> dict:
    """Diagnostic: the storm's burst against the baseline view.

    What storing each event and answering costs on this machine at the
    least: the storm target cannot be easier for Vigil than for the baseline.
    """
    body = trigger_body(
        stack.integrations["storm"].key, dedup_key=f"storm-{secrets.token_hex(4)}"
    )
    burst, usage = metered(
        stack,
        lambda: ab(stack.url(BASELINE), body, requests=events, connections=connections),
    )
    return {
        "generator": f"ab -c {connections} (closed loop, exactly {events} requests)",
        "path": BASELINE,
        "requests_completed": burst.requests,
        "failed": burst.failed,
        "non_2xx": burst.non_2xx,
        "seconds": round(burst.seconds, 2),
        "events_per_s": round(burst.rate, 1),
        "latency_ms_closed_loop": burst.latency_ms,
        **usage,
        "reset": reset_backlog(stack),
    }


def _drain(stack: Stack) -> bool:
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while time.monotonic() < deadline:
        pending = stack.scalar(
            "SELECT count(*) FROM incidents_alertevent WHERE processed_at IS NULL"
        )
        if pending == 0:
            return True
        time.sleep(0.25)
    return False


def _storm_alert(stack: Stack, integration_id: int) -> dict[str, int]:
    alerts = int(
        stack.scalar(
            "SELECT count(*) FROM incidents_alert WHERE integration_id = %s",
            (integration_id,),
        )
    )
    count = stack.scalar(
        "SELECT max(event_count) FROM incidents_alert WHERE integration_id = %s",
        (integration_id,),
    )
    return {"alerts_created": alerts, "event_count": int(count or 0)}


def endpoint_only(stack: Stack, connections: int, seconds: float) -> dict:
    """Diagnostic: both endpoints again with the Celery worker stopped.

    Without a worker nothing contends with the request path in the database,
    so this is the request path's own cost. The worker is not restarted.
    """
    reset_backlog(stack)
    stop(stack.worker)
    vigil = closed_loop(stack, VIGIL, connections, seconds)
    baseline = closed_loop(stack, BASELINE, connections, seconds)
    return {
        "connections": connections,
        "vigil": vigil,
        "baseline": baseline,
        "ratio": _ratio(vigil["events_per_s"], baseline["events_per_s"]),
    }


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


# --- The benchmark ------------------------------------------------------------------


def run_all(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    say = _progress()
    say("scenario 1: sustained throughput, Vigil")
    vigil = throughput(stack, VIGIL, args.levels, args.seconds)
    say("scenario 4: sustained throughput, baseline")
    baseline = throughput(stack, BASELINE, args.levels, args.seconds)
    rate = round(vigil["max_events_per_s"] / 2, 1)
    say(f"scenario 2: latency at {rate}/s (half the max)")
    half = latency(stack, max(rate, 1.0), args.seconds)
    say(f"scenario 3: dedup storm of {args.storm} events")
    storm_ = storm(stack, args.storm, vigil["best_connections"])
    say("diagnostic: the storm's burst against the baseline")
    storm_base = storm_baseline(stack, args.storm, vigil["best_connections"])
    say("diagnostic: both endpoints with the worker stopped")
    alone = endpoint_only(stack, vigil["best_connections"], args.seconds)
    ratio = _ratio(vigil["max_events_per_s"], baseline["max_events_per_s"])
    values = {
        "ratio_vigil_to_baseline": ratio,
        "storm_events_per_s": storm_["events_per_s"],
        "p99_ms_at_half_load": half["latency_ms"]["p99"],
    }
    return {
        "server": _server(stack),
        "scenarios": {
            "1_throughput_vigil": vigil,
            "2_latency_half_load": half,
            "3_dedup_storm": storm_,
            "4_throughput_baseline": baseline | {"ratio_vigil_to_baseline": ratio},
            "diagnostic_storm_baseline": storm_base,
            "diagnostic_worker_stopped": alone,
        },
        "targets": verdicts(values, TARGETS),
        "checks": _checks(storm_),
    }


def _checks(storm_: dict[str, Any]) -> dict[str, dict[str, Any]]:
    want = {
        "storm_all_accepted": (storm_["events_stored"], storm_["events"]),
        "storm_drained": (storm_["drained"], True),
        "storm_incidents": (storm_["incidents_created"], 1),
        "storm_alerts": (storm_["alerts_created"], 1),
        "storm_event_count": (storm_["event_count"], storm_["events"]),
    }
    return {k: {"value": v, "want": w, "pass": v == w} for k, (v, w) in want.items()}


def _server(stack: Stack) -> dict[str, Any]:
    return {
        "http": "gunicorn -c python:config.gunicorn config.wsgi:application",
        "gunicorn_worker_class": gunicorn_settings.worker_class,
        "gunicorn_workers": stack.workers,
        "settings": "bench.baseline_settings (Vigil's settings + /baseline/)",
        "celery_worker": "-A config worker --queues ingest,ingest_backlog,default "
        "--concurrency 1",
        "database_conn_max_age": 60,
        "broker_vhost": "scratch (own vhost)" if stack.own_vhost else "shared",
    }


def machine(stack: Stack) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text()
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    total_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
    pg = {
        name: stack.scalar(f"SHOW {name}")
        for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
    }
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model.group(1) if model else "unknown",
        "memory_gib": round(total_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": version("Django"),
        "gunicorn": version("gunicorn"),
        "celery": version("celery"),
        "psycopg": version("psycopg"),
        "postgresql": pg.pop("server_version"),
        "postgresql_settings": pg,
        "rabbitmq": _rabbitmq_version(stack),
        "wrk": _tool_version("wrk", "-v"),
        "ab": _tool_version("ab", "-V"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "python_loop_s_at_start": cpu.python_loop_seconds(),
    }


def _rabbitmq_version(stack: Stack) -> str:
    with Connection(stack.broker_url, connect_timeout=5) as conn:
        conn.connect()
        value = conn.connection.server_properties.get("version", "unknown")
    return value.decode() if isinstance(value, bytes) else str(value)


def _tool_version(name: str, flag: str) -> str:
    done = subprocess.run(  # noqa: S603
        [tool(name), flag], capture_output=True, text=True, check=False, timeout=10
    )
    return (done.stdout + done.stderr).strip().splitlines()[0]


def _progress() -> Callable[[str], None]:
    start = time.monotonic()

    def say(message: str) -> None:
        print(f"[{time.monotonic() - start:6.1f}s] {message}", flush=True)

    return say


# --- Worker sweep --------------------------------------------------------------------


def sweep(stack: Stack, counts: list[int], connections: int, seconds: float) -> dict:
    """Both endpoints at one level for each gunicorn worker count, then Vigil
    again with the Celery worker stopped (the request path alone)."""
    rows = []
    phases = ((True, (VIGIL, BASELINE)), (False, (VIGIL,)))
    for worker, paths in phases:
        if not worker:
            reset_backlog(stack)
            stop(stack.worker)
        for count in counts:
            start_gunicorn(stack, count)
            for path in paths:
                row = _sweep_run(stack, path, connections, seconds)
                rows.append({"gunicorn_workers": count, "celery_worker": worker} | row)
                print(
                    f"  gunicorn workers {count}, celery worker "
                    f"{'running' if worker else 'stopped'}: {path:12} "
                    f"{row['events_per_s']:8.1f} events/s",
                    flush=True,
                )
    return {"connections": connections, "seconds": seconds, "runs": rows}


def _sweep_run(stack: Stack, path: str, connections: int, seconds: float) -> dict:
    wrk(
        stack.url(path),
        trigger_body(stack.integrations["load"].key),
        connections=connections,
        seconds=WARMUP_SECONDS,
        run=f"warmup-{secrets.token_hex(3)}",
    )
    reset_backlog(stack)
    return {"path": path} | closed_loop(stack, path, connections, seconds)


# --- Report ---------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    s = result["scenarios"]
    m = result["machine"]
    lines = [
        f"Vigil ingest benchmark — {m['nproc']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}, Django {m['django']}, PostgreSQL {m['postgresql']}, "
        f"RabbitMQ {m['rabbitmq']}",
        f"gunicorn {result['server']['gunicorn_worker_class']} workers: "
        f"{result['server']['gunicorn_workers']}; "
        f"load average at start: {m['loadavg_at_start']}; "
        f"Python reference loop {m['python_loop_s_at_start']} s at start, "
        f"{m['python_loop_s_at_end']} s at end (lower is faster)",
        "",
        "1/4. Sustained throughput (wrk, closed loop, distinct dedup keys)",
        f"  {'endpoint':10} {'conns':>5} {'events/s':>9} {'errors':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'worker/s':>9}  cpu (cores)",
    ]
    for name, key in (
        ("vigil", "1_throughput_vigil"),
        ("baseline", "4_throughput_baseline"),
    ):
        for run in s[key]["levels"]:
            lines.append(_level_line(name, run))
    lines += [
        f"  max: Vigil {s['1_throughput_vigil']['max_events_per_s']}/s, baseline "
        f"{s['4_throughput_baseline']['max_events_per_s']}/s, ratio "
        f"{s['4_throughput_baseline']['ratio_vigil_to_baseline']}",
        "",
        _latency_lines(s["2_latency_half_load"]),
        "",
        _storm_lines(s["3_dedup_storm"], s["diagnostic_storm_baseline"]),
        "",
        "Diagnostic: worker stopped (request path alone)",
    ]
    alone = s["diagnostic_worker_stopped"]
    lines.append(_level_line("vigil", alone["vigil"]))
    lines.append(_level_line("baseline", alone["baseline"]))
    lines += [f"  ratio {alone['ratio']}", "", "Targets"]
    for name, t in result["targets"].items():
        verdict = "PASS" if t["pass"] else "FAIL"
        lines.append(f"  {verdict}  {name} = {t['value']} (target {t['target']})")
    for name, c in result["checks"].items():
        verdict = "PASS" if c["pass"] else "FAIL"
        lines.append(f"  {verdict}  {name} = {c['value']} (want {c['want']})")
    return "\n".join(lines)


def _level_line(name: str, run: dict[str, Any]) -> str:
    errors = sum(run["errors"].values())
    lat = run["latency_ms_closed_loop"]
    worker = run.get("worker_processed_per_s", "-")
    cores = ", ".join(f"{k} {v}" for k, v in run["cpu"]["cores"].items() if v >= 0.05)
    return (
        f"  {name:10} {run['connections']:>5} {run['events_per_s']:>9} {errors:>7} "
        f"{lat['p50']:>7.1f} {lat['p99']:>7.1f} {worker!s:>9}  {cores}"
        f"{_disturbed(run)}"
    )


def _disturbed(run: dict[str, Any]) -> str:
    """Name what else ran on the machine meanwhile, if anything did."""
    notes = [f"{k} {v}" for k, v in run["cpu"]["other_busiest"].items()]
    if run["pg_checkpoints"]:
        notes.append(f"{run['pg_checkpoints']} pg checkpoint(s)")
    return f"  [disturbed: {', '.join(notes)}]" if notes else ""


def _latency_lines(half: dict[str, Any]) -> str:
    lat = half["latency_ms"]
    return (
        f"2. Latency at half the max rate (open loop, {half['target_rate']}/s for "
        f"{half['seconds']}s, {half['sent']} requests)\n"
        f"  p50 {lat['p50']:.1f} ms  p90 {lat['p90']:.1f} ms  p99 {lat['p99']:.1f} ms"
        f"  max {lat['max']:.1f} ms  statuses {half['statuses']}"
        f"  client send lag p99 {half['send_lag_ms']['p99']:.1f} ms{_disturbed(half)}"
    )


def _storm_lines(st: dict[str, Any], base: dict[str, Any]) -> str:
    return (
        f"3. Dedup storm ({st['events']} triggers, one dedup key, ab -c "
        f"{st['connections']})\n"
        f"  {st['seconds']} s, {st['events_per_s']} events/s, failed {st['failed']}, "
        f"non-2xx {st['non_2xx']}, p99 {st['latency_ms_closed_loop']['p99']} ms"
        f"{_disturbed(st)}\n"
        f"  drained: {st['drained']} after {st['drain_seconds_after_last_request']} s;"
        f" incidents {st['incidents_created']}, alerts {st['alerts_created']},"
        f" event_count {st['event_count']}\n"
        f"  the same burst against the baseline: {base['events_per_s']} events/s,"
        f" p99 {base['latency_ms_closed_loop']['p99']} ms{_disturbed(base)}"
    )


# --- Entry point ----------------------------------------------------------------


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    p.add_argument("--levels", type=_ints, default=list(LEVELS))
    p.add_argument("--seconds", type=float, default=SECONDS)
    p.add_argument("--storm", type=int, default=STORM_EVENTS)
    p.add_argument(
        "--vhost",
        default=None,
        help="RabbitMQ vhost to use (default: a scratch vhost made and deleted "
        "with rabbitmqctl; '/' shares the default one and purges nothing)",
    )
    p.add_argument("--sweep", type=_ints, help="compare these gunicorn worker counts")
    p.add_argument("--output", type=Path, default=None)
    return p.parse_args(argv)


def run(
    args: argparse.Namespace, on_stack: Callable[[Stack], None] | None = None
) -> dict[str, Any]:
    """Run the benchmark on a stack of its own; return the result.

    `on_stack` is called with the stack once it serves (to watch its
    processes, say).
    """
    started = datetime.now(UTC)
    clock = time.monotonic()
    name = "ingest-sweep" if args.sweep else "ingest"
    print("setting up the stack (database, vhost, migrate, gunicorn, worker)...")
    with running_stack(args.sweep[0] if args.sweep else args.workers, args.vhost) as st:
        if on_stack is not None:
            on_stack(st)
        facts = machine(st)
        if args.sweep:
            body = sweep(
                st, args.sweep, args.levels[len(args.levels) // 2], args.seconds
            )
        else:
            body = run_all(st, args)
        facts["python_loop_s_at_end"] = cpu.python_loop_seconds()
    return {
        "benchmark": name,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - clock, 1),
        "machine": facts,
        **body,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    exit_on_signals()
    result = run(args)
    output = write(result, args.output or RESULTS / f"{result['benchmark']}.json")
    if not args.sweep:
        print("\n" + report(result))
    shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
    print(f"\nwritten to {shown}")
    sys.exit(0)


if __name__ == "__main__":
    main()
