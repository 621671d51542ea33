"""Keep a few programs running in the foreground, as `make run` needs.

A program that exits is started again after a pause that doubles with each
exit in a row (1 s, 2 s, 4 s, … up to a cap) and starts again from 1 s once
the program stayed up a while, so a crash costs seconds and a program that
cannot start does not spin. The others keep running meanwhile. Each program
leads a process group of its own: Ctrl-C in the terminal reaches only the
supervisor, which stops them in order, and what a dead program left behind
(a Celery worker's pool) is killed with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True)
class Backoff:
    """How long to wait before starting a program that exited."""

    first: float = 1.0
    cap: float = 30.0
    # A program that ran this long before it exited starts again at `first`.
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        """Return the pause before the restart after `failures` exits in a row."""
        return float(min(self.cap, self.first * 2 ** max(0, failures - 1)))


@dataclass
class Program:
    name: str
    argv: list[str]
    process: subprocess.Popen[str] | None = None
    started_at: float = 0.0
    failures: int = 0  # exits in a row, each soon after its start
    restarts: int = 0
    restart_at: float | None = None


def exit_status(code: int) -> str:
    """Return `code` as a person reads it: `1`, or `-9 (SIGKILL)`."""
    if code < 0:
        try:
            return f"{code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return str(code)


class Supervisor:
    """Start programs, restart each one that exits, stop them all on request."""

    def __init__(
        self,
        programs: Mapping[str, list[str]],
        *,
        env: Mapping[str, str],
        say: Callable[[str, str], None],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.programs = [Program(name, argv) for name, argv in programs.items()]
        self.env = dict(env)
        self.say = say  # say(program name, line)
        self.backoff = backoff or Backoff()
        self.clock = clock

    def run(self, stopping: threading.Event, *, grace: float, every: float) -> None:
        """Supervise until `stopping` is set, then stop every program."""
        self.start()
        while not stopping.is_set():
            self.check()
            stopping.wait(every)
        self.stop(grace)

    def start(self) -> None:
        """Start every program."""
        for program in self.programs:
            self._start(program)

    def check(self) -> None:
        """Notice programs that exited; start the ones whose pause is over."""
        now = self.clock()
        for program in self.programs:
            process = program.process
            if process is not None and process.poll() is not None:
                self._exited(program, process, now)
            if program.restart_at is not None and now >= program.restart_at:
                program.restarts += 1
                self._start(program)

    def stop(self, grace: float) -> None:
        """SIGTERM every running program; SIGKILL what outlives `grace`."""
        running = [(p.name, p.process) for p in self.programs if p.process]
        for _, process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(name, f"did not stop within {grace:g}s; killing it")
                process.kill()
                process.wait()
            _kill_group(process.pid)

    def _start(self, program: Program) -> None:
        program.restart_at = None
        program.started_at = self.clock()
        program.process = subprocess.Popen(  # noqa: S603
            program.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            env={**self.env, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(
            target=self._relay,
            args=(program.name, program.process.stdout),
            name=f"relay-{program.name}",
            daemon=True,
        ).start()

    def _exited(
        self, program: Program, process: subprocess.Popen[str], now: float
    ) -> None:
        _kill_group(process.pid)
        program.process = None
        stable = now - program.started_at >= self.backoff.stable_after
        program.failures = 1 if stable else program.failures + 1
        pause = self.backoff.delay(program.failures)
        program.restart_at = now + pause
        self.say(
            "stack",
            f"{program.name} exited with code {exit_status(process.returncode)}; "
            f"restarting it in {pause:g}s",
        )

    def _relay(self, name: str, stream: IO[str] | None) -> None:
        for line in stream or ():
            self.say(name, line.rstrip("\n"))


def _kill_group(pgid: int) -> None:
    """Kill what is left of a program's process group (orphaned children)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
