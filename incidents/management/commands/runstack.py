"""Run the whole system in the foreground: web, worker and beat, supervised."""

from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config.celery import QUEUES
from config.env import env_int, env_str
from config.supervisor import Supervisor


def _programs() -> dict[str, list[str]]:
    python = sys.executable
    port = settings.PORT
    host = env_str("HOST", "127.0.0.1")
    concurrency = env_int("WORKER_CONCURRENCY", 2, minimum=1)
    celery = [python, "-m", "celery", "-A", "config"]
    return {
        # Channels' router does not speak the ASGI lifespan protocol.
        "web": [
            python, "-m", "uvicorn", "config.asgi:application",
            "--host", host, "--port", str(port), "--lifespan", "off",
        ],
        "worker": [
            *celery, "worker", "--loglevel", settings.LOG_LEVEL,
            "--queues", ",".join(QUEUES), "--concurrency", str(concurrency),
            "--hostname", "vigil@%h",
        ],
        "beat": [
            *celery, "beat", "--loglevel", settings.LOG_LEVEL,
            "--scheduler", settings.CELERY_BEAT_SCHEDULER,
            "--pidfile", "",
        ],
    }  # fmt: skip


class Command(BaseCommand):
    help = (
        "Migrate, collect static files and create the demo data on first run, "
        "then start web (ASGI: HTTP + websockets), a Celery worker and Celery "
        "beat. A program that exits is started again (after 1 s, doubling up "
        "to 30 s while it keeps exiting) and the others keep running; Ctrl-C "
        "or SIGTERM stops all of them cleanly."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--grace",
            type=float,
            default=15.0,
            help="Seconds each program gets to stop before it is killed.",
        )
        parser.add_argument(
            "--no-setup",
            action="store_true",
            help="Skip migrate, collectstatic and seed_demo.",
        )

    def handle(self, *args: Any, grace: float, no_setup: bool, **options: Any) -> None:
        programs = _programs()  # reads PORT etc. first: bad values stop us here
        if not no_setup:
            call_command("migrate", interactive=False, verbosity=1)
            call_command("collectstatic", interactive=False, verbosity=0)
            call_command("seed_demo")
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        lock = threading.Lock()

        def say(name: str, line: str) -> None:
            with lock:
                self.stdout.write(f"{name:<6} | {line}")
                self.stdout.flush()

        Supervisor(programs, env=os.environ, say=say).run(
            stopping, grace=grace, every=0.5
        )
        self.stdout.write("Stopped web, worker and beat.")
