"""The cadence sweep over 100k open incidents: `python -m bench.cadence`.

Every 15 seconds beat runs the status update sweep; it must stay cheap
however many incidents are open. In a scratch PostgreSQL database (migrated
with the real migrations) this inserts N open incidents whose update clocks
run, a quarter of them P3 (no clock), all due later, and times in-process,
on one connection:

* `sweep`: `update_reminders_sweep()` with nothing due, the steady state;
* `baseline`: `SELECT 1`, the round trip every query pays, in the same run;
* `sweep_without_index`: the sweep again with the partial index dropped
  (inside a transaction rolled back after), what the index saves.

Target: the sweep ≤ 5 ms, with no percentile named; the p50 is checked
against it, the p99 is reported (not checked) beside the baseline's p99:
on a shared machine both carry the scheduler's noise. Writes
bench/results/cadence.json. `python -m bench` runs it in a process of its
own, since it sets Django up on its own database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import RESULTS, verdicts, write
from bench.stack import AMQP_SERVER, ROOT, manage, scratch_database, vigil_env

TARGET_MS = 5.0


def _timings(run: Callable[[], object], rounds: int) -> dict[str, float]:
    run()  # warm: plans and caches, as on a running beat
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
        "max_ms": round(times[-1], 3),
    }


def _populate(incidents: int) -> None:
    """Insert `incidents` open incidents in one statement, as SQL does fastest."""
    from django.db import connection
    from django.utils import timezone

    from incidents.models import Incident
    from incidents.services import service_create, team_create

    service = service_create(name="Bench", team=team_create(name="Bench"))
    now = timezone.now()
    table = connection.ops.quote_name(Incident._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (
                public_id, title, summary, severity_id, status, category,
                detection_source, service_id, impact, root_cause,
                resolution_type, is_drill, is_public, public_title, restricted,
                started_at, detected_at, created_at, updated_at,
                next_update_due_at, update_check_at)
            SELECT 'BENCH-' || n, 'Bench ' || n, '', 'P' || (n %% 4),
                'investigating', 'other', 'team_member', %s, '', '', '',
                false, false, '', false, %s, %s, %s, %s,
                CASE WHEN n %% 4 = 3 THEN NULL
                     ELSE %s + (600 + n %% 7200) * interval '1 second' END,
                CASE WHEN n %% 4 = 3 THEN NULL
                     ELSE %s + (600 + n %% 7200) * interval '1 second' END
            FROM generate_series(1, %s) AS n
            """,  # noqa: S608 - the table name comes from the model
            [service.pk, now, now, now, now, now, now, incidents],
        )
        cursor.execute(f"ANALYZE {table}")


def _without_index(run: Callable[[], object], rounds: int) -> dict[str, float]:
    """Time `run` with the partial index dropped, then put it back (rollback)."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX incident_update_check_idx")
        timings = _timings(run, rounds)
        transaction.set_rollback(True)
    return timings


def run(incidents: int, rounds: int) -> dict[str, Any]:
    """Set up the database, time the sweep and its baseline; return the result."""
    with contextlib.ExitStack() as stack:
        url = scratch_database(stack, f"vigil_bench_cadence_{secrets.token_hex(4)}")
        env = vigil_env(url, AMQP_SERVER, Path("/nonexistent"))
        manage(env, "migrate", "--no-input")
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "SECRET_KEY")})
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        import django

        django.setup()
        from django.db import connection

        from escalation.services import update_reminders_sweep

        _populate(incidents)

        def select_one() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()

        def sweep() -> None:
            assert update_reminders_sweep() == 0

        baseline = _timings(select_one, rounds)
        swept = _timings(sweep, rounds)
        seqscan = _without_index(sweep, max(rounds // 10, 5))
        connection.close()
    figures = {
        "sweep_p50_ms": swept["p50_ms"],
        "ratio_to_select_1_p50": round(swept["p50_ms"] / baseline["p50_ms"], 2),
    }
    return {
        "setup": {
            "open_incidents": incidents,
            "with_a_running_clock": incidents - incidents // 4,
            "rounds": rounds,
            "database": "PostgreSQL, scratch database, real migrations",
        },
        "baseline_select_1": baseline,
        "sweep": swept,
        "sweep_without_index": seqscan,
        "figures": figures,
        "targets": verdicts(figures, {"sweep_p50_ms": ("<=", TARGET_MS)}),
    }


def report(result: dict[str, Any]) -> str:
    s, b, w = (
        result["sweep"],
        result["baseline_select_1"],
        result["sweep_without_index"],
    )
    return (
        f"cadence sweep over {result['setup']['open_incidents']} open incidents: "
        f"p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms (SELECT 1: p50 {b['p50_ms']} "
        f"ms; without the partial index: p50 {w['p50_ms']} ms)"
    )


def run_apart(incidents: int, rounds: int, output: Path) -> dict[str, Any]:
    """Run the benchmark in a new process; return what it wrote to `output`."""
    subprocess.run(  # noqa: S603
        [
            sys.executable, "-m", "bench.cadence", "--incidents", str(incidents),
            "--rounds", str(rounds), "--output", str(output),
        ],
        cwd=ROOT, check=True, timeout=1800,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(output.read_text())
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.cadence", description=__doc__)
    p.add_argument("--incidents", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=500)
    p.add_argument("--output", type=Path, default=RESULTS / "cadence.json")
    args = p.parse_args(argv)
    result = run(args.incidents, args.rounds)
    write(result, args.output)
    print(report(result))


if __name__ == "__main__":
    main()
