"""Run the whole system in the foreground: web, worker and beat together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import IO, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.celery import QUEUES
from config.env import env_int, env_str


def _programs() -> dict[str, list[str]]:
    python = sys.executable
    port = env_int("PORT", 8000, minimum=1)
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


def _relay(name: str, stream: IO[str] | None, lock: threading.Lock) -> None:
    for line in stream or ():
        with lock:
            sys.stdout.write(f"{name:<6} | {line}")
            sys.stdout.flush()


class Command(BaseCommand):
    help = (
        "Migrate, collect static files and create the demo data on first run, "
        "then start web (ASGI: HTTP + websockets), a Celery worker and Celery "
        "beat, and stop all of them cleanly on Ctrl-C or when one of them exits."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--grace", type=float, default=15.0)
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
            port = env_int("PORT", 8000, minimum=1)
            call_command("seed_demo", base_url=f"http://127.0.0.1:{port}")
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        lock = threading.Lock()
        children: dict[str, subprocess.Popen[str]] = {}
        for name, argv in programs.items():
            # A session of their own: Ctrl-C reaches only this supervisor,
            # which then stops each program in order.
            child = subprocess.Popen(  # noqa: S603
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            children[name] = child
            threading.Thread(
                target=_relay, args=(name, child.stdout, lock), daemon=True
            ).start()
        failed = None
        while not stopping.is_set():
            failed = next(
                (n for n, c in children.items() if c.poll() is not None), None
            )
            if failed:
                break
            stopping.wait(0.5)
        self._stop(children, grace)
        if failed:
            raise CommandError(
                f"{failed} exited with code {children[failed].returncode}; "
                "stopped the others"
            )

    def _stop(self, children: dict[str, subprocess.Popen[str]], grace: float) -> None:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop within {grace:g}s; killing it")
                child.kill()
                child.wait()
        self.stdout.write("Stopped web, worker and beat.")
