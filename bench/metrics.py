"""Metrics over years of history: every metrics endpoint and /metrics, timed.

`python -m bench.metrics [--incidents 1000000] [--repeats 20]` creates a
scratch PostgreSQL database, migrates it, writes the incidents in one
INSERT … SELECT over generate_series (3 years, a mix of severities, teams,
services, categories, acknowledge and resolve times, never-acknowledged
ones, drills and cancellations), then times each endpoint in-process
through the WSGI entry point, as gunicorn calls it, signed in as a superuser
(every team), for several filter combinations, each after one untimed
request. The rollups are built before the timing, as the beat task's runs
back to back would. Writes bench/results/metrics.json; target: p99 ≤ 100 ms
for every endpoint and filter.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import os
import statistics
import time
from typing import Any

from bench.cpu import python_loop_seconds
from bench.results import RESULTS, verdicts, write
from bench.stack import scratch_database

TEAMS = 8
SERVICES_PER_TEAM = 5
YEARS = 3
TARGET_MS = 100.0
ZONES = ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Tokyo")

# One row per incident, all in SQL: severity P0..P3 weighted 5/15/40/40 %,
# 10 % never acknowledged, 15 % still open, 2 % drills, 2 % cancelled;
# written in the order they were detected, as a running Vigil writes them
# (the table's pages then follow the detection time, as they would).
INSERT = """
INSERT INTO incidents_incident (
    public_id, title, summary, severity_id, status, category, detection_source,
    service_id, impact, root_cause, resolution_type, is_drill, started_at,
    detected_at, acknowledged_at, mitigated_at, resolved_at, created_at,
    updated_at, restricted, is_public, public_title
)
SELECT
    'BENCH-' || n, 'Bench incident ' || n, '', sev,
    CASE WHEN n %% 50 = 7 THEN 'cancelled'
         WHEN resolved IS NULL THEN 'investigating' ELSE 'resolved' END,
    (ARRAY['site_down','database','api_integration','configuration',
           'security','performance','failed_deployment','bot_offline',
           'other'])[1 + n %% 9],
    'monitoring_alert', service, '', '', '', n %% 50 = 3,
    detected - make_interval(secs => r1 * 900), detected,
    acked, CASE WHEN resolved IS NULL THEN NULL
                ELSE detected + (resolved - detected) * 0.6 END,
    resolved, detected, coalesce(resolved, detected), false, false, ''
FROM (
    SELECT n, detected, sev, service, r1,
        CASE WHEN n %% 10 = 0 THEN NULL
             ELSE detected + make_interval(secs => 30 + r2 * r2 * 7200) END AS acked,
        CASE WHEN n %% 7 = 0 THEN NULL
             ELSE detected + make_interval(secs => 300 + r3 * r3 * 86400) END
             AS resolved
    FROM (
        SELECT n,
            now() - make_interval(secs => random() * %(span)s) AS detected,
            CASE WHEN n %% 20 = 0 THEN 'P0' WHEN n %% 20 < 4 THEN 'P1'
                 WHEN n %% 20 < 12 THEN 'P2' ELSE 'P3' END AS sev,
            %(first_service)s + (n::bigint * 7919) %% %(services)s AS service,
            random() AS r1, random() AS r2, random() AS r3
        FROM generate_series(1, %(count)s) AS n
    ) AS base
) AS timed
ORDER BY detected
"""

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "response-times by severity": ("/api/v1/metrics/response-times/", {}),
    "response-times by month": (
        "/api/v1/metrics/response-times/",
        {"group_by": "period", "period": "month"},
    ),
    "response-times by day, one team, P0+P1": (
        "/api/v1/metrics/response-times/",
        {"group_by": "period", "period": "day", "team": "team-1",
         "severity": ["P0", "P1"]},
    ),
    "response-times by day, last 90 days": (
        "/api/v1/metrics/response-times/",
        {"group_by": "period", "period": "day", "since": "-90"},
    ),
    "response-times by day, last 365 days": (
        "/api/v1/metrics/response-times/",
        {"group_by": "period", "period": "day", "since": "-365"},
    ),
    "response-times by service, last 90 days, database": (
        "/api/v1/metrics/response-times/",
        {"group_by": "service", "category": "database", "since": "-90"},
    ),
    "response-times by service": (
        "/api/v1/metrics/response-times/", {"group_by": "service"},
    ),
    "response-times by category": (
        "/api/v1/metrics/response-times/", {"group_by": "category"},
    ),
    "response-times, database": (
        "/api/v1/metrics/response-times/", {"category": "database"},
    ),
    "response-times by category, last 90 days": (
        "/api/v1/metrics/response-times/", {"group_by": "category", "since": "-90"},
    ),
    "response-times by week": (
        "/api/v1/metrics/response-times/", {"group_by": "period", "period": "week"},
    ),
    "response-times drills": ("/api/v1/metrics/response-times/", {"drills": "true"}),
    "sla": ("/api/v1/metrics/sla/", {}),
    "sla breaches, one service, last 30 days": (
        "/api/v1/metrics/sla/breaches/",
        {"service": "service-1-1", "since": "-30"},
    ),
    "sla breaches, all history, first page": ("/api/v1/metrics/sla/breaches/", {}),
    "kpis": ("/api/v1/metrics/kpis/", {}),
    "availability (30 days)": ("/api/v1/metrics/availability/", {}),
    "response-times csv": ("/api/v1/metrics/response-times/", {"format": "csv"}),
    "prometheus /metrics": ("/metrics", {}),
}  # fmt: skip

# Every combination of a grouping, a filter and a span that the response-time
# endpoint takes, each timed like the queries above (fewer requests each).
GROUPINGS: list[dict[str, str]] = [
    *({"group_by": by} for by in ("severity", "service", "team", "category")),
    *({"group_by": "period", "period": p} for p in ("day", "week", "month", "quarter")),
]
FILTERS: list[dict[str, Any]] = [
    {},
    {"severity": "P0"},
    {"severity": ["P0", "P1"]},
    {"team": "team-1"},
    {"team": [f"team-{n}" for n in range(1, TEAMS)]},
    {"service": "service-1-1"},
    {"category": "database"},
    {"team": "team-2", "severity": "P1"},
    {"service": "service-3-2", "category": "database"},
    {"drills": "true"},
    {"category": ["database", "security", "other"], "severity": ["P2", "P3"]},
]
SPANS: list[dict[str, str]] = [{}, *({"since": f"-{days}"} for days in (30, 90, 365))]
COMBINATION_REPEATS = 10


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.metrics", description=__doc__)
    p.add_argument("--incidents", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=20, help="requests per query")
    p.add_argument("--output", default=str(RESULTS / "metrics.json"))
    return p.parse_args(argv)


def _setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    # As the README sets it for gunicorn: a connection kept between requests.
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _populate(count: int) -> dict[str, float]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from incidents.models import Service, Team
    from metrics.models import RollupBucket, RollupCell, RollupShapeCell
    from metrics.services import rollups_refresh

    first = None
    for t in range(1, TEAMS + 1):
        team = Team.objects.create(
            name=f"Team {t}", slug=f"team-{t}", time_zone=ZONES[t % len(ZONES)]
        )
        for s in range(1, SERVICES_PER_TEAM + 1):
            service = Service.objects.create(
                name=f"Service {t}.{s}", slug=f"service-{t}-{s}", team=team
            )
            first = first or service.pk
    User.objects.create_superuser("bench", "bench@example.com")
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT,
            {
                "span": YEARS * 365 * 86400,
                "first_service": first,
                "services": TEAMS * SERVICES_PER_TEAM,
                "count": count,
            },
        )
        inserted = time.perf_counter() - start
        cursor.execute("ANALYZE")
    analyzed = time.perf_counter() - start - inserted
    rollups = time.perf_counter()
    while rollups_refresh(now=timezone.now()):
        pass  # the beat task's runs, back to back: every settled day
    with connection.cursor() as cursor:
        # As autovacuum leaves a table written over years: statistics, and
        # the visibility map that lets a covering index answer alone.
        cursor.execute("VACUUM ANALYZE")
        # And as long since written to disk: the build's gigabytes are not
        # still being written back while the queries are timed.
        cursor.execute("CHECKPOINT")
    return {
        "insert_s": round(inserted, 1),
        "analyze_s": round(analyzed, 1),
        "rollups_build_s": round(time.perf_counter() - rollups, 1),
        "rollup_cells": RollupCell.objects.count(),
        "rollup_buckets": RollupBucket.objects.count(),
        "rollup_shaped_cells": RollupShapeCell.objects.count(),
    }


def _params(query: dict[str, Any]) -> dict[str, Any]:
    from datetime import timedelta

    from django.utils import timezone

    out = dict(query)
    if "since" in out:  # days ago
        out["since"] = (timezone.now() + timedelta(days=int(out["since"]))).isoformat()
    return out


class Served:
    """GET requests made as a WSGI server makes them: to the entry point's
    application, with a signed-in user's session cookie, the body read and
    the response closed. No test client in between: it ties each response
    to itself, so that every answer waits for Python's next full collection
    to be freed, a cost a served request does not have."""

    def __init__(self, application: Any, user: Any) -> None:
        from django.test import Client, RequestFactory

        client = Client()
        client.force_login(user)
        cookie = client.cookies.output(attrs=[], header="", sep=";").strip()
        self.application = application
        self.requests = RequestFactory(HTTP_COOKIE=cookie)

    def get(self, path: str, params: dict[str, Any]) -> tuple[int, bytes]:
        statuses: list[str] = []
        body = self.application(
            self.requests.get(path, params).environ,
            lambda status, headers: statuses.append(status),
        )
        try:
            content = b"".join(body)
        finally:
            body.close()
        return int(statuses[0].split()[0]), content


def _time(
    served: Served, url: str, params: dict[str, Any], repeats: int
) -> dict[str, Any]:
    # Untimed first: a serving process is warm. A fresh one's first request
    # pays for first use, whatever it asks (here about 0.14 s more: lazy
    # imports and caches, the session's catalog, and about 60 ms of
    # Python's first full collection over everything Django loaded).
    served.get(url, params)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        status, content = served.get(url, params)
        timings.append((time.perf_counter() - start) * 1000)
        assert status == 200, (url, content[:300])
    timings.sort()
    p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
    return {
        "p50_ms": round(statistics.median(timings), 1),
        "p99_ms": round(p99, 1),
        "max_ms": round(timings[-1], 1),
        "requests": repeats,
    }


def _combinations(served: Served) -> dict[str, Any]:
    """Time every combination of GROUPINGS, FILTERS and SPANS; return how
    many and the ten slowest by p99."""
    path = "/api/v1/metrics/response-times/"
    queries = [
        grouping | chosen | span
        for grouping, chosen, span in itertools.product(GROUPINGS, FILTERS, SPANS)
    ]
    timed = [
        {"query": query} | _time(served, path, _params(query), COMBINATION_REPEATS)
        for query in queries
    ]
    timed.sort(key=lambda t: -t["p99_ms"])
    return {
        "count": len(timed),
        "requests_each": COMBINATION_REPEATS,
        "slowest": timed[:10],
    }


def run(incidents: int, repeats: int) -> dict[str, Any]:
    loop_start = python_loop_seconds()
    with contextlib.ExitStack() as stack:
        url = scratch_database(stack, f"vigil_bench_metrics_{os.getpid()}")
        _setup(url)
        timing = _populate(incidents)
        # Loaded as gunicorn loads it: the entry point keeps what is loaded
        # by then out of Python's full collections.
        entry_point = importlib.import_module("config.wsgi")
        from django.contrib.auth.models import User

        from incidents.models import Incident

        served = Served(entry_point.application, User.objects.get(username="bench"))
        endpoints = {
            name: _time(served, path, _params(query), repeats)
            for name, (path, query) in QUERIES.items()
        }
        combinations = _combinations(served)
        rows = Incident.objects.count()
        from django.db import connections

        connections.close_all()
    figures = {f"p99 {name} (ms)": e["p99_ms"] for name, e in endpoints.items()}
    figures["p99 slowest combination (ms)"] = combinations["slowest"][0]["p99_ms"]
    return {
        "incidents": rows,
        "years": YEARS,
        "teams": TEAMS,
        "services": TEAMS * SERVICES_PER_TEAM,
        "generate": timing,
        "endpoints": endpoints,
        "combinations": combinations,
        "python_loop_s": {"start": loop_start, "end": python_loop_seconds()},
        "targets": verdicts(figures, {name: ("<=", TARGET_MS) for name in figures}),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{result['incidents']} incidents over {result['years']} years "
        f"(insert {result['generate']['insert_s']} s, rollups built in "
        f"{result['generate']['rollups_build_s']} s)"
    ]
    for name, e in result["endpoints"].items():
        lines.append(f"  {name}: p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms")
    combinations = result["combinations"]
    lines.append(f"  {combinations['count']} combinations, the slowest:")
    for e in combinations["slowest"][:5]:
        lines.append(f"    {e['query']}: p50 {e['p50_ms']} ms, p99 {e['p99_ms']} ms")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    result = run(args.incidents, args.repeats)
    print(report(result))
    from pathlib import Path

    write(result, Path(args.output))


if __name__ == "__main__":
    main()
