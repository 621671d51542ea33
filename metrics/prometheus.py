"""`GET /metrics`: the platform's health in Prometheus's exposition format.

Every value is read from the database (and the broker, for queue depths)
when Prometheus scrapes, so any web process answers the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any

from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from config.celery import QUEUES, app
from escalation.metrics_selectors import oldest_overdue_step_due_at
from incidents.metrics_selectors import (
    missed_target_counts,
    oldest_unprocessed_event_at,
    open_incident_counts,
    overdue_action_item_counts,
    overdue_review_counts,
)
from metrics.models import WorkerHeartbeat
from metrics.rollup_reads import declared_totals
from notifications.metrics_selectors import delivery_backlog, page_totals

logger = logging.getLogger(__name__)
BROKER_TIMEOUT_SECONDS = 2


def _age(then: datetime | None, now: datetime) -> float:
    """Seconds since `then`; 0 when there is nothing waiting."""
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def _drill(flag: bool) -> str:
    return "true" if flag else "false"


Label = Callable[[dict[str, Any]], str]


def _counted(
    family: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    documentation: str,
    rows: Iterable[dict[str, Any]],
    labels: dict[str, Label],
) -> Metric:
    """Return a family of one sample per counted row: each label read from
    the row by its function, the value the row's count."""
    metric = family(name, documentation, labels=list(labels))
    for row in rows:
        metric.add_metric([label(row) for label in labels.values()], row["count"])
    return metric


class VigilCollector(Collector):
    """Reads every figure afresh on each scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from self._incidents()
        yield from self._follow_ups(now)
        yield from self._backlogs(now)
        yield self._queue_depths()
        yield from self._jobs(now)

    def _incidents(self) -> Iterator[Metric]:
        yield _counted(
            GaugeMetricFamily,
            "vigil_open_incidents",
            "Incidents not resolved, closed or cancelled.",
            open_incident_counts(),
            {
                "severity": itemgetter("severity_id"),
                "team": itemgetter("service__team__slug"),
                "drill": lambda row: _drill(row["is_drill"]),
            },
        )
        yield _counted(
            CounterMetricFamily,
            "vigil_incidents",
            "Incidents declared, ever.",
            declared_totals(),
            {
                "severity": itemgetter("severity_id"),
                "drill": lambda row: _drill(row["is_drill"]),
            },
        )
        yield _counted(
            CounterMetricFamily,
            "vigil_pages",
            "Pages written, ever, by channel kind and status.",
            page_totals(),
            {"kind": itemgetter("kind"), "status": itemgetter("status")},
        )
        yield _counted(
            CounterMetricFamily,
            "vigil_sla_breaches",
            "Acknowledge and resolve targets missed, ever.",
            missed_target_counts(),
            {
                "severity": itemgetter("incident__severity_id"),
                "target": lambda row: row["kind"].removesuffix("_target_missed"),
                "drill": lambda row: _drill(row["incident__is_drill"]),
            },
        )

    def _follow_ups(self, now: datetime) -> Iterator[Metric]:
        yield _counted(
            GaugeMetricFamily,
            "vigil_reviews_overdue",
            "Post-incident reviews past a deadline not yet met.",
            overdue_review_counts(now=now),
            {
                "deadline": itemgetter("deadline"),
                "severity": itemgetter("incident__severity_id"),
                "team": itemgetter("incident__service__team__slug"),
            },
        )
        yield _counted(
            GaugeMetricFamily,
            "vigil_action_items_overdue",
            "Open action items past their due date.",
            overdue_action_item_counts(today=timezone.localdate(now)),
            {
                "priority": itemgetter("priority"),
                "team": itemgetter("incident__service__team__slug"),
            },
        )

    def _backlogs(self, now: datetime) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "vigil_ingest_backlog_seconds",
            "Age of the oldest alert event not yet processed (0: none waiting).",
            value=_age(oldest_unprocessed_event_at(), now),
        )
        yield GaugeMetricFamily(
            "vigil_escalation_lag_seconds",
            "How overdue the most overdue escalation step is (0: none overdue).",
            value=_age(oldest_overdue_step_due_at(now=now), now),
        )
        backlog = delivery_backlog()
        yield GaugeMetricFamily(
            "vigil_deliveries_pending",
            "Deliveries waiting to be sent.",
            value=backlog["pending"],
        )
        yield GaugeMetricFamily(
            "vigil_deliveries_failed",
            "Deliveries that failed for good.",
            value=backlog["failed"],
        )
        yield GaugeMetricFamily(
            "vigil_deliveries_oldest_pending_seconds",
            "How long the oldest pending delivery has been due (0: none).",
            value=_age(backlog["oldest_pending_due_at"], now),
        )

    def _queue_depths(self) -> Metric:
        depth = GaugeMetricFamily(
            "vigil_queue_depth",
            "Messages waiting in each broker queue (absent: broker unreachable).",
            labels=["queue"],
        )
        try:
            with app.connection_for_read() as connection:
                connection.ensure_connection(
                    max_retries=1, timeout=BROKER_TIMEOUT_SECONDS
                )
                for name in QUEUES:
                    depth.add_metric([name], _queue_depth(connection, name))
        except Exception as error:
            logger.warning("queue depths not read from the broker: %s", error)
        return depth

    def _jobs(self, now: datetime) -> Iterator[Metric]:
        since_run = GaugeMetricFamily(
            "vigil_beat_job_last_run_age_seconds",
            "Seconds since beat last sent each periodic job (absent: never).",
            labels=["job"],
        )
        jobs = PeriodicTask.objects.filter(enabled=True, last_run_at__isnull=False)
        for name, last_run_at in jobs.values_list("name", "last_run_at"):
            since_run.add_metric([name], _age(last_run_at, now))
        yield since_run
        heartbeat = GaugeMetricFamily(
            "vigil_worker_heartbeat_age_seconds",
            "Seconds since each worker last ran the heartbeat job.",
            labels=["worker"],
        )
        for worker, seen_at in WorkerHeartbeat.objects.values_list("worker", "seen_at"):
            heartbeat.add_metric([worker], _age(seen_at, now))
        yield heartbeat


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(VigilCollector())


def _queue_depth(connection: Any, name: str) -> int:
    """Messages waiting in queue `name`; 0 for a queue nobody has declared
    yet (asking for it closes the channel, so each queue gets its own)."""
    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue=name, passive=True).message_count)
    except connection.channel_errors:
        return 0
    finally:
        try:
            channel.close()
        except connection.channel_errors + connection.connection_errors:
            pass  # already closed by the broker's refusal
