"""Soak: `make run` on the embedded default, alerts every few seconds, for a while.

    python -m bench.soak --minutes 30

Starts `manage.py runstack` as a user does (SQLite and the filesystem broker
in a var directory of its own, the demo data, the admin paged by email to
the worker's console), sends a PagerDuty trigger with a new dedup key every
`--every` seconds and resolves every fourth one two alerts later, then waits
until no event is left unprocessed. Writes bench/results/soak.json: alerts
sent and accepted, events processed and pending, alerts and incidents made,
pages sent, restarts the supervisor logged, errors in the log and the peak
RSS of every process. It exits 1 if anything was lost, pending, restarted or
logged as an error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.embedded import Runstack
from bench.memory import RssSampler

RESULT = Path(__file__).resolve().parent / "results" / "soak.json"
DRAIN_SECONDS = 180  # how long the stack may take to process what is left


def soak(var_dir: Path, *, seconds: float, every: float) -> dict[str, Any]:
    """Run the soak in `var_dir`; return its result (see the module's doc)."""
    started = time.monotonic()
    # One incident per alert, so that the counts say every alert was applied:
    # a trigger every 2 s would pass the flood threshold (20 incidents a
    # minute by default) and fold the rest into a flood incident, which
    # tests/escalation/test_alert_floods.py covers.
    stack = Runstack.start(var_dir, VIGIL_FLOOD_INCIDENTS_PER_MINUTE="0")
    try:
        with RssSampler(interval=2.0) as rss:
            stack.add_verified_email("oncall@example.com")
            sent = _send(stack, rss, seconds=seconds, every=every)
            drained = _drain(stack, seconds=DRAIN_SECONDS)
            pages = stack.deliveries(purpose="page", status="sent")
            counts = stack.counts()
        processes = {row["role"]: row["peak_mb"] for row in rss.result()["processes"]}
    finally:
        exit_code = stack.stop()
    restarts = stack.restarts()
    errors = stack.error_lines()
    triggers = sent["triggers"]
    result = {
        "seconds": round(time.monotonic() - started, 1),
        "load_seconds": seconds,
        "alert_every_s": every,
        "alerts_sent": sent["events"],
        "alerts_accepted": sent["accepted"],
        "events_processed": counts["events"] - counts["pending"],
        "events_pending": counts["pending"],
        "drain_s": drained,
        "alerts": counts["alerts"],
        "incidents": counts["incidents"],
        "pages": pages,
        "restarts": [f"{name} exited with code {code}" for name, code in restarts],
        "errors_in_logs": errors[:50],
        "error_lines": len(errors),
        "exit_code": exit_code,
        "peak_rss_mb": processes,
    }
    result["ok"] = (
        result["alerts_accepted"] == result["alerts_sent"]
        and counts["events"] == sent["events"]
        and counts["pending"] == 0
        and counts["alerts"] == triggers
        and counts["incidents"] == triggers
        and not restarts
        and not errors
        and exit_code == 0
    )
    return result


def _send(
    stack: Runstack, rss: RssSampler, *, seconds: float, every: float
) -> dict[str, int]:
    events = accepted = triggers = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        due = time.monotonic() + every
        rss.watch({pid: name for name, pid in stack.programs().items()})
        sends = [(f"soak-{triggers}", "trigger")]
        if triggers % 4 == 2:
            sends.append((f"soak-{triggers - 2}", "resolve"))
        triggers += 1
        for key, action in sends:
            events += 1
            accepted += stack.send_alert(key, action) == 202
        time.sleep(max(0.0, due - time.monotonic()))
    return {"events": events, "accepted": accepted, "triggers": triggers}


def _drain(stack: Runstack, *, seconds: float) -> float:
    """Wait until no event is pending; return how long that took."""
    start = time.monotonic()
    while stack.counts()["pending"] and time.monotonic() - start < seconds:
        time.sleep(0.5)
    return round(time.monotonic() - start, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=3.0, help="seconds")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vigil-soak-") as var_dir:
        result = soak(Path(var_dir), seconds=args.minutes * 60, every=args.every)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
