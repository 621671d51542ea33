"""Run every benchmark: `python -m bench` (or `make bench`).

Scenarios: ingest (throughput, half-load latency, dedup storm, on a stack of
its own: see bench/README.md), then on one shared stack (bench/shared.py)
time-to-page, fanout and escalation, then the public status page on a stack
of its own (bench/statuspage.py). The RSS of every Vigil process is
sampled throughout (memory). Writes bench/results/<scenario>.json, a chart
per scenario and bench/results/summary.md. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import cadence, cpu, escalation, ingest, isolation, paging, statuspage
from bench.memory import RssSampler
from bench.report import summary
from bench.results import RESULTS, write
from bench.shared import CONCURRENCY, NICE, NODES, WEB_WORKERS, shared_stack
from bench.stack import Stack, exit_on_signals

SCENARIOS = (
    "ingest", "time-to-page", "fanout", "escalation", "storm-isolation",
    "cadence", "metrics", "statuspage", "memory",
)  # fmt: skip
ON_SHARED_STACK = ("time-to-page", "fanout", "escalation", "storm-isolation")
# Full run, and --quick (a few minutes in all, for trying the harness out).
FULL = {
    "alerts": 500, "rate": 10.0, "responders": 50, "rounds": 3,
    "incidents": 2000, "over": 60.0, "storm_seconds": 120.0,
    "open_incidents": 100_000, "metric_incidents": 1_000_000,
    "ingest": [],
}  # fmt: skip
QUICK = {
    "alerts": 100, "rate": 10.0, "responders": 50, "rounds": 1,
    "incidents": 200, "over": 10.0, "storm_seconds": 20.0,
    "open_incidents": 20_000, "metric_incidents": 20_000,
    "ingest": ["--levels", "16", "--seconds", "5", "--storm", "2000"],
}  # fmt: skip


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--only",
        type=lambda text: [x.strip() for x in text.split(",") if x.strip()],
        default=list(SCENARIOS),
        help=f"comma-separated scenarios, of: {', '.join(SCENARIOS)}",
    )
    p.add_argument("--quick", action="store_true", help="short runs of everything")
    for name, kind, what in (
        ("alerts", int, "time-to-page: alerts to send"),
        ("rate", float, "time-to-page: alerts per second"),
        ("responders", int, "fanout: people paged by the P0"),
        ("rounds", int, "fanout: how many P0 alerts, one after the other"),
        ("incidents", int, "escalation: level-2 steps due"),
        ("over", float, "escalation: seconds they are due over"),
        ("storm_seconds", float, "storm-isolation: seconds of each phase"),
        ("open_incidents", int, "cadence: open incidents the sweep looks over"),
        ("metric_incidents", int, "metrics: incidents of history to measure over"),
    ):
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=kind, help=f"{what} (default {FULL[name]})")
    p.add_argument(
        "--ingest-args",
        default=None,
        help="options for bench.ingest, quoted (e.g. '--seconds 5 --levels 16')",
    )
    p.add_argument("--output-dir", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    defaults = QUICK if args.quick else FULL
    for name, value in defaults.items():
        if name != "ingest" and getattr(args, name) is None:
            setattr(args, name, value)
    if args.ingest_args is None:
        args.ingest_args = list(defaults["ingest"])
    else:
        args.ingest_args = args.ingest_args.split()
    return args


def _say(start: float, message: str) -> None:
    print(f"[{time.monotonic() - start:7.1f}s] {message}", flush=True)


def _watch(sampler: RssSampler, st: Stack, prefix: str = "") -> None:
    """Sample Vigil's processes (not the receiver, which is the bench's)."""
    sampler.watch(
        {
            pid: prefix + name
            for pid, name in st.sessions().items()
            if name != "receiver"
        }
    )


def run_ingest(args: argparse.Namespace, sampler: RssSampler) -> dict[str, Any]:
    options = ingest.parse(args.ingest_args)
    result = ingest.run(options, lambda st: _watch(sampler, st, "ingest stack: "))
    print(ingest.report(result))
    return result


def run_shared(
    args: argparse.Namespace, sampler: RssSampler, start: float
) -> dict[str, dict[str, Any]]:
    """Start the shared stack and run its scenarios on it."""
    out: dict[str, dict[str, Any]] = {}
    _say(start, "starting the shared stack")
    with shared_stack() as st:
        _watch(sampler, st)
        os.environ.update(st.env)
        import django

        django.setup()
        if "time-to-page" in args.only:
            _say(start, f"time-to-page: {args.alerts} alerts at {args.rate}/s")
            out["time-to-page"] = paging.time_to_page(st, args.alerts, args.rate)
            paging.resolve_left_open(st)
        if "fanout" in args.only:
            _say(start, f"fanout: P0 to {args.responders} responders x 3 channels")
            out["fanout"] = paging.fanout(st, args.responders, args.rounds)
            paging.resolve_left_open(st)
        if "escalation" in args.only:
            _say(start, f"escalation: {args.incidents} steps over {args.over:g} s")
            sessions = {
                pid: name for pid, name in st.sessions().items() if name != "receiver"
            }
            out["escalation"] = escalation.run(
                st.receiver_port, sessions, st.database, args.incidents, args.over
            )
            out["escalation"]["setup"] |= _shared_setup()
        if "storm-isolation" in args.only:
            # Last: A's storm leaves a backlog no later scenario should meet.
            _say(start, f"storm-isolation: B's P0s quiet, then during A's storm, "
                 f"{args.storm_seconds:g} s each")  # fmt: skip
            out["storm-isolation"] = isolation.run(st, args.storm_seconds)
            out["storm-isolation"]["setup"] = _shared_setup()
    return out


def run_metrics(args: argparse.Namespace) -> dict[str, Any]:
    """Run bench.metrics in a process of its own (its own scratch database
    and Django set-up); return its result."""
    output = args.output_dir / "metrics.json"
    subprocess.run(  # noqa: S603 - our own module, our own arguments
        [sys.executable, "-m", "bench.metrics", "--incidents",
         str(args.metric_incidents), "--output", str(output)],
        check=True,
    )  # fmt: skip
    return dict(json.loads(output.read_text()))


def _shared_setup() -> dict[str, str]:
    return {
        "web": f"gunicorn config.wsgi:application, {WEB_WORKERS} sync workers; "
        "uvicorn config.asgi:application for websockets",
        "workers": ", ".join(
            f"celery node {name} on {','.join(queues)}"
            + (f" at nice {NICE[name]}" if name in NICE else "")
            for name, queues in NODES.items()
        )
        + f"; --concurrency {CONCURRENCY} each",
        "beat": "one celery beat",
    }


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    kib = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": model.group(1) if model else "unknown",
        "memory_gib": round(int(kib.group(1)) / 2**20, 1) if kib else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python_loop_s_at_start": cpu.python_loop_seconds(),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    exit_on_signals()
    start = time.monotonic()
    facts = machine()
    results: dict[str, dict[str, Any]] = {}
    with RssSampler() as sampler:
        if "ingest" in args.only:
            _say(start, "ingest (a stack of its own)")
            results["ingest"] = run_ingest(args, sampler)
        if set(args.only) & set(ON_SHARED_STACK):
            results |= run_shared(args, sampler, start)
        if "cadence" in args.only:
            _say(start, f"cadence: the sweep over {args.open_incidents} incidents")
            results["cadence"] = cadence.run_apart(
                args.open_incidents, 500, args.output_dir / "cadence.json"
            )
        if "metrics" in args.only:
            _say(start, f"metrics: {args.metric_incidents} incidents of history")
            results["metrics"] = run_metrics(args)
        if "statuspage" in args.only:
            _say(start, "statuspage (a stack of its own)")
            quick = ["--incidents", "100000", "--seconds", "5"] if args.quick else []
            results["statuspage"] = statuspage.run(statuspage.parse(quick))
    if "ingest" in results and "storm-isolation" in results:
        isolation.compare_to_ingest(results["storm-isolation"], results["ingest"])
    if "memory" in args.only and sampler.series:
        results["memory"] = sampler.result()
    facts["python_loop_s_at_end"] = cpu.python_loop_seconds()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for name, result in results.items():
        write({"machine": facts} | result, args.output_dir / f"{name}.json")
    minutes = (time.monotonic() - start) / 60
    header = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {minutes:.1f} min"
        f"{' (--quick)' if args.quick else ''}; {facts['cores']} cores, "
        f"{facts['cpu']}, load average at start {facts['load_average_at_start']}; "
        f"Python reference loop {facts['python_loop_s_at_start']} s at start, "
        f"{facts['python_loop_s_at_end']} s at end (lower is faster)."
    )
    path = summary(results, args.output_dir, header)
    _say(start, f"written: {path}")


if __name__ == "__main__":
    main()
