"""The Celery application: queues by purpose, safe delivery defaults, beat."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("vigil")
app.config_from_object("django.conf:settings", namespace="CELERY")

# One queue per purpose, so that a slow SMS provider on `notifications` can
# never hold up a step on `escalation`, and, during a storm, lanes that keep
# the work that pages people ahead of the backlog (docs/queues.md):
# - `pages`: deliveries to people (pages), ahead of channel messages on
#   `notifications`; on RabbitMQ a priority queue, the incident's severity
#   the message's priority, so a P0's page overtakes a storm of P2 pages
#   (the filesystem broker has no priorities: there it is first come, first
#   served, still apart from channel messages);
# - `ingest`: an integration's first pending events; `ingest_backlog`: the
#   rest of a storm, pass after pass, so a noisy integration's backlog never
#   queues ahead of another integration's new alert.
QUEUES = (
    "pages",
    "escalation",
    "ingest",
    "notifications",
    "ingest_backlog",
    "default",
)
# The queues a worker node for urgent work consumes (README: process layout).
URGENT_QUEUES = ("pages", "escalation", "ingest")
PRIORITIES = 10  # x-max-priority of `pages`: 0 (lowest) … 9


def _queue(name: str) -> Queue:
    arguments = {"x-max-priority": PRIORITIES} if name == "pages" else None
    return Queue(name, Exchange(name), routing_key=name, queue_arguments=arguments)


app.conf.update(
    task_queues=[_queue(name) for name in QUEUES],
    task_default_queue="default",
    task_default_exchange="default",
    task_default_routing_key="default",
    task_routes={
        "incidents.tasks.ingest_*": {"queue": "ingest"},
        "escalation.tasks.*": {"queue": "escalation"},
        "notifications.tasks.*": {"queue": "notifications"},
    },
    # A message is acknowledged only after its task ran; a worker killed
    # mid-task leaves it to be delivered again. Tasks claim their rows, so
    # running twice is harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_soft_time_limit=60,
    task_time_limit=90,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

# Every periodic job is listed here, once. The DatabaseScheduler copies this
# into django-celery-beat's tables, where admins can see when each last ran.
app.conf.beat_schedule = {
    # Process alert events whose task message was lost (broker down when the
    # request was answered): no accepted alert may wait for ever.
    "ingest-recover": {
        "task": "incidents.tasks.ingest_recover_task",
        "schedule": 10.0,
    },
    # Open a "health check failure" for every heartbeat that went quiet.
    "ingest-heartbeat-check": {
        "task": "incidents.tasks.ingest_heartbeat_check_task",
        "schedule": 15.0,
    },
    # When a maintenance window ends, list the alerts it kept quiet.
    "maintenance-windows-close": {
        "task": "incidents.tasks.maintenance_windows_close_task",
        "schedule": 60.0,
    },
    # Record on each incident's timeline the moment it misses its severity's
    # acknowledge or resolve target (the severity matrix), for the war room
    # and metrics.
    "incident-target-sweep": {
        "task": "incidents.tasks.incident_targets_sweep_task",
        "schedule": 30.0,
    },
    # Trigger again the incidents whose acknowledgement expired (a policy's
    # ack_timeout): their escalation restarts from level 1. The entry keeps
    # its name so that a deployed beat's stored entry is updated in place.
    "incident-ack-expiry": {
        "task": "escalation.tasks.escalation_ack_expiry_sweep_task",
        "schedule": 10.0,
    },
    # Remind the owner of a post-incident review before and at each deadline,
    # and tell the team lead, then the manager, when it is overdue. Deadlines
    # are hours apart: a minute late is on time.
    "review-reminders": {
        "task": "incidents.tasks.review_reminders_task",
        "schedule": 60.0,
    },
    # One digest a day per owner of overdue action items: the first sweep of
    # the day sends it; hourly so that a restart costs at most an hour.
    "action-item-digests": {
        "task": "incidents.tasks.action_item_digests_task",
        "schedule": 3600.0,
    },
    # Fire escalation steps that are due and that no task fired: the wait was
    # too long for an ETA, the worker was down, or the message was lost.
    # Every second, so such a step is at most about a second late.
    "escalations-sweep": {
        "task": "escalation.tasks.escalations_sweep_task",
        "schedule": 1.0,
    },
    # Remind the Communications Lead of a status update that is overdue, and
    # page the incident commander and team lead after the grace. Every 15 s:
    # a reminder is at most that late, and a sweep with nothing due reads
    # one index range.
    "update-reminders-sweep": {
        "task": "escalation.tasks.update_reminders_sweep_task",
        "schedule": 15.0,
    },
    # Begin drills that are due (a slot's offset has passed, a postponement
    # ended), mark drills whose incident was resolved completed, and cancel
    # those past their time box. Drills run for an hour or so: half a minute
    # late is on time. (Each team's drill slots are periodic tasks of their
    # own, kept with its drill schedules in the database scheduler.)
    "drills-sweep": {
        "task": "escalation.tasks.drills_sweep_task",
        "schedule": 30.0,
    },
    # Send deliveries whose task message was lost, and the ones whose wait was
    # too long to hand to the broker as a countdown, as they come due.
    "deliveries-dispatch-due": {
        "task": "notifications.tasks.deliveries_dispatch_due_task",
        "schedule": 5.0,
    },
    # Send again what a worker killed mid-send left in "sending" (after the
    # lease): a page may arrive twice, but is never lost.
    "deliveries-recover": {
        "task": "notifications.tasks.deliveries_recover_task",
        "schedule": 30.0,
    },
    # The quarterly contact-method test: the quarter's round starts on its
    # first day at VIGIL_CONTACT_TEST_HOUR (once: its key is the quarter), and
    # the sweep reminds, then reports to team leads, unconfirmed tests. Both
    # are hours apart: a quarter of an hour late is on time.
    "contact-tests-start": {
        "task": "notifications.tasks.contact_tests_start_task",
        "schedule": 900.0,
    },
    "contact-tests-sweep": {
        "task": "notifications.tasks.contact_tests_sweep_task",
        "schedule": 900.0,
    },
    # Each worker that runs this records its heartbeat; Prometheus reads how
    # long ago the last one was (vigil_worker_heartbeat_age_seconds).
    "worker-heartbeat": {
        "task": "metrics.tasks.worker_heartbeat_task",
        "schedule": 15.0,
    },
    # The metrics rollups: rebuild the days an incident change marked dirty
    # and roll up the days that settled (read raw until then).
    "metrics-rollups-refresh": {
        "task": "metrics.tasks.rollups_refresh_task",
        "schedule": 60.0,
    },
}

# Database connections: a task is to a worker what a request is to a web
# process. Before and after each one, connections that failed or outlived
# DATABASE_CONN_MAX_AGE are closed, and the rest are checked before their
# first use (CONN_HEALTH_CHECKS), so a worker reuses its connection between
# tasks and gets a new one after a database restart. Celery's Django fix-up
# would close every connection around every task instead, so that each task
# started a new PostgreSQL backend (its start and authentication cost about
# as much CPU as a small task); it now does so only every 1,000 tasks. The
# fix-up reads this one setting under its old-style name.
app.conf["CELERY_DB_REUSE_MAX"] = 1000


@task_prerun.connect
@task_postrun.connect
def _database_connections(sender: Task | None = None, **kwargs: Any) -> None:
    if sender is not None and not getattr(sender.request, "is_eager", False):
        close_old_connections()


app.autodiscover_tasks()
