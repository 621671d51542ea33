"""runstack's supervisor: a program that exits is restarted, with backoff."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.supervisor import Backoff, Supervisor, exit_status
from tests.live import wait_until

PYTHON = sys.executable
EXITS = [PYTHON, "-c", "import sys; sys.exit(3)"]
WAITS = [PYTHON, "-c", "import time; print('up', flush=True); time.sleep(120)"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Said:
    """What the supervisor and its programs printed, as (name, line)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, name: str, line: str) -> None:
        with self.lock:
            self.lines.append((name, line))

    def by(self, name: str) -> list[str]:
        with self.lock:
            return [line for who, line in self.lines if who == name]


@pytest.fixture
def said() -> Said:
    return Said()


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    started: list[Supervisor] = []
    yield started
    for supervisor in started:
        supervisor.stop(grace=5)


def supervisor_of(
    programs: dict[str, list[str]],
    said: Said,
    supervisors: list[Supervisor],
    clock: Clock,
    backoff: Backoff | None = None,
) -> Supervisor:
    supervisor = Supervisor(
        programs, env=os.environ, say=said, backoff=backoff, clock=clock
    )
    supervisors.append(supervisor)
    return supervisor


def exit_of(supervisor: Supervisor, name: str) -> None:
    """Wait until the program `name` has exited (not yet noticed)."""
    (program,) = [p for p in supervisor.programs if p.name == name]
    assert program.process is not None
    program.process.wait(timeout=30)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_pause_before_a_restart_doubles_up_to_the_cap():
    backoff = Backoff(first=1, cap=30)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_exit_codes_read_as_numbers_or_the_signal_that_ended_the_program():
    assert exit_status(3) == "3"
    assert exit_status(-9) == "-9 (SIGKILL)"


def test_a_program_that_exits_is_restarted_after_a_doubling_pause(said, supervisors):
    clock = Clock()
    supervisor = supervisor_of({"crashy": EXITS}, said, supervisors, clock)
    supervisor.start()
    pauses = []
    for _ in range(3):
        exit_of(supervisor, "crashy")
        supervisor.check()  # notices the exit
        pauses.append(said.by("stack")[-1])
        clock.now += 0.999 * Backoff().delay(len(pauses))
        supervisor.check()
        assert supervisor.programs[0].process is None  # still pausing
        clock.now += 0.002 * Backoff().delay(len(pauses))
        supervisor.check()
        assert supervisor.programs[0].process is not None  # started again

    assert pauses == [
        "crashy exited with code 3; restarting it in 1s",
        "crashy exited with code 3; restarting it in 2s",
        "crashy exited with code 3; restarting it in 4s",
    ]
    assert supervisor.programs[0].restarts == 3


def test_a_program_that_stayed_up_a_while_restarts_after_the_first_pause_again(
    said, supervisors
):
    clock = Clock()
    backoff = Backoff(first=1, cap=30, stable_after=60)
    supervisor = supervisor_of({"crashy": EXITS}, said, supervisors, clock, backoff)
    supervisor.start()
    for _ in range(2):  # two quick exits in a row: 1 s, then 2 s
        exit_of(supervisor, "crashy")
        supervisor.check()
        clock.now += 2
        supervisor.check()
    exit_of(supervisor, "crashy")
    clock.now += 60  # it ran a minute before this exit
    supervisor.check()

    assert said.by("stack")[-1] == "crashy exited with code 3; restarting it in 1s"


def test_the_other_programs_keep_running_while_one_is_restarted(said, supervisors):
    clock = Clock()
    supervisor = supervisor_of(
        {"crashy": EXITS, "steady": WAITS}, said, supervisors, clock
    )
    supervisor.start()
    steady = supervisor.programs[1].process
    assert steady is not None
    wait_until(lambda: said.by("steady") == ["up"], "the steady program to print")
    exit_of(supervisor, "crashy")
    supervisor.check()
    clock.now += 1
    supervisor.check()

    assert supervisor.programs[1].process is steady
    assert steady.poll() is None
    assert supervisor.programs[0].restarts == 1


def test_what_a_killed_program_left_running_is_killed_with_it(said, supervisors):
    parent = [
        PYTHON, "-c",
        "import subprocess, sys, time; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; "
        "time.sleep(120)']); print(child.pid, flush=True); time.sleep(120)",
    ]  # fmt: skip
    supervisor = supervisor_of({"pool": parent}, said, supervisors, Clock())
    supervisor.start()
    child = int(wait_until(lambda: said.by("pool"), "the child's pid")[0])
    process = supervisor.programs[0].process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)  # kill -9 of the program alone
    process.wait(timeout=30)
    assert alive(child)
    supervisor.check()

    wait_until(lambda: not alive(child), "the orphaned child to die", seconds=10)
    assert said.by("stack") == [
        "pool exited with code -9 (SIGKILL); restarting it in 1s"
    ]


def test_stopping_ends_every_program_and_kills_one_that_ignores_sigterm(
    said, supervisors
):
    stubborn = [
        PYTHON, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(120)",
    ]  # fmt: skip
    supervisor = supervisor_of(
        {"steady": WAITS, "stubborn": stubborn}, said, supervisors, Clock()
    )
    stopping = threading.Event()
    running = threading.Thread(
        target=supervisor.run, args=(stopping,), kwargs={"grace": 1, "every": 0.05}
    )
    running.start()
    wait_until(
        lambda: said.by("steady") == said.by("stubborn") == ["up"],
        "both programs to start",
    )
    processes = [program.process for program in supervisor.programs]
    stopping.set()
    running.join(30)

    assert not running.is_alive()
    assert [p.returncode for p in processes if p] == [-signal.SIGTERM, -9]
    assert said.by("stubborn")[-1] == "did not stop within 1s; killing it"
    assert said.by("stack") == []  # nothing was restarted while stopping
