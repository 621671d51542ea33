"""The admin's metrics dashboard: trends, SLA and breaches of the last twelve
calendar months, for production incidents and, on a page of its own, for
drills."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from escalation.drill_selectors import drill_trends
from incidents.metrics_selectors import severity_targets
from incidents.selectors import team_list
from metrics import selectors
from metrics.charts import line_chart

BREACHES_SHOWN = 25
# Most severe first, as the severity matrix colours them (P0 red, …).
CHARTS = {
    "time_to_acknowledge": "Mean time to acknowledge (MTTA) by month and severity",
    "time_to_resolve": "Mean time to resolve (MTTR) by month and severity",
}
FALLBACK_COLORS = ("#b91c1c", "#ea580c", "#ca8a04", "#2563eb", "#6b7280")


def _months(now: Any) -> list[tuple[int, int]]:
    """The last twelve months (UTC calendar) as (year, month), oldest first."""
    year, month = now.year, now.month
    months = []
    for _ in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _since(now: Any) -> datetime:
    """Where the dashboard begins: midnight UTC on the first day of the
    oldest month its charts show, so that every figure covers those months
    (and the rollups answer them as whole months)."""
    year, month = _months(now)[0]
    return datetime(year, month, 1, tzinfo=UTC)


def _drill_trends(request: HttpRequest, now: Any) -> list[dict[str, Any]]:
    """Per team with drills in the window: its drills, and their times to
    the first acknowledgement as a chart."""
    teams = []
    for team in team_list(user=request.user):
        drills = drill_trends(user=request.user, team=team, since=_since(now), now=now)
        if not drills:
            continue
        heading = f"{team.name}: time to the first acknowledgement, drill by drill"
        labels = [f"{drill.detected_at:%Y-%m-%d}" for drill in drills]
        acks = [
            drill.time_to_acknowledge.total_seconds()
            if drill.time_to_acknowledge is not None
            else None
            for drill in drills
        ]
        chart = line_chart(heading, labels, {"first ack": acks}, {})
        teams.append({"team": team, "drills": drills, "chart": chart})
    return teams


def _context(request: HttpRequest, drills: bool) -> dict[str, Any]:
    now = timezone.now()
    filters: dict[str, Any] = {
        "drills": drills,
        "since": _since(now),
        "until": None,
        "severities": [],
        "services": [],
        "teams": [],
        "categories": [],
    }
    codes = [target["code"] for target in severity_targets()]
    colors = dict(zip(codes, FALLBACK_COLORS, strict=False))
    labels = [f"{year}-{month:02d}" for year, month in _months(now)]
    trends: dict[str, dict[str, list[float | None]]] = {
        "time_to_acknowledge": {},
        "time_to_resolve": {},
    }
    for code in codes:
        rows = selectors.response_time_report(
            user=request.user,
            filters=filters | {"severities": [code]},
            group_by="period",
            period="month",
        )
        by_month = {row["group"]: row for row in rows}
        for measure, lines in trends.items():
            lines[code] = [
                by_month[label][f"{measure}_mean"] if label in by_month else None
                for label in labels
            ]
    counts = selectors.response_time_report(
        user=request.user, filters=filters, group_by="severity", period="month"
    )
    sla = selectors.sla_report(user=request.user, filters=filters, now=now)
    breaches = selectors.sla_breaches(user=request.user, filters=filters, now=now)
    return {
        **admin.site.each_context(request),  # the admin's header, user tools, menu
        "title": "Drill metrics" if drills else "Incident metrics",
        "drills": drills,
        "charts": [
            (heading, line_chart(heading, labels, trends[measure], colors))
            for measure, heading in CHARTS.items()
        ],
        "counts": counts,
        "sla": sla,
        "breaches": breaches[:BREACHES_SHOWN],  # the latest, newest first
        "breach_total": breaches.count(),
        "since": filters["since"],
        "drill_trends": _drill_trends(request, now) if drills else [],
    }


def dashboard(request: HttpRequest) -> HttpResponse:
    """Production incidents: cancelled ones and drills never count here."""
    return render(request, "admin/metrics/dashboard.html", _context(request, False))


def drills_dashboard(request: HttpRequest) -> HttpResponse:
    """Drills alone, kept apart from the production figures."""
    return render(request, "admin/metrics/dashboard.html", _context(request, True))
