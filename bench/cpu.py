"""Where the machine's CPU went during a run, from /proc (Linux only).

On a 2-core machine the server, the database, the broker, the worker and the
load generator all share the same cores, and so does anything else running
on the machine: this tells them apart, so that a slow run can be told from a
busy machine.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
CHILD = "child"
RABBITMQ = ("beam.smp", "erl_child_setup", "epmd", "inet_gethost")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    start: int  # start time, telling a process from a later one with its pid
    session: int
    comm: str
    ticks: int
    cmd: str = ""  # PostgreSQL processes only: which database a backend serves
    rss: int = 0  # resident set size, bytes


@dataclass
class Snapshot:
    busy: int  # machine-wide busy ticks, all cores
    procs: dict[tuple[int, int], Proc]
    children: float  # CPU seconds of this process's finished children


def _proc(pid: int) -> Proc | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        cmd = ""
        if comm == "postgres":
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    # Fields from the 3rd of proc(5) on: ppid is the 4th, session the 6th,
    # utime and stime the 14th and 15th, starttime the 22nd, rss (pages) the 24th.
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    rss = int(fields[21]) * PAGE
    return Proc(
        pid, int(fields[1]), int(fields[19]), int(fields[3]), comm, ticks, cmd, rss
    )


def python_loop_seconds(rounds: int = 3) -> float:
    """How fast this machine runs Python at the moment: the best of `rounds`
    timings of one fixed loop, in seconds (lower is faster).

    Machines of the same kind differ, and one machine's speed moves with its
    neighbours' load: the loop took from 0.31 s to 0.88 s on the 2-core
    machines. A run's figures compare with another run's only beside it.
    """
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i * i
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def _busy() -> int:
    # user nice system idle iowait irq softirq steal ...: busy is all but
    # idle, iowait and the time the hypervisor gave to other machines.
    values = [int(x) for x in Path("/proc/stat").read_text().split()[1:9]]
    return sum(values[:7]) - values[3] - values[4]


def procs() -> dict[tuple[int, int], Proc]:
    """Every process on the machine now, by (pid, start time)."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (proc := _proc(int(entry))) is not None:
            procs[proc.pid, proc.start] = proc
    return procs


def snapshot() -> Snapshot:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Snapshot(_busy(), procs(), usage.ru_utime + usage.ru_stime)


class Ticker:
    """Call `tick()` every `interval` seconds, in a thread, until stop()."""

    def __init__(self, interval: float, tick: Callable[[], None]) -> None:
        self._stop = threading.Event()
        self._interval, self._tick = interval, tick
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._tick()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Meter:
    """Snapshots around a run, and every half second during it.

    The samples catch processes that start and end within the run (another
    user's test run, say), which the end snapshot alone would not see.
    """

    sessions: dict[int, str]
    database: str
    interval: float = 0.5
    before: Snapshot | None = None
    seen: dict[tuple[int, int], Proc] = field(default_factory=dict)
    _ticker: Ticker | None = None
    _start: float = 0.0

    def __enter__(self) -> Meter:
        self.before, self._start = snapshot(), time.monotonic()
        self._ticker = Ticker(self.interval, lambda: self.seen.update(procs()))
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._ticker is not None:
            self._ticker.stop()

    def usage(self) -> dict[str, object]:
        """CPU used during the run, in cores (1.0 = one core all the time)."""
        assert self.before is not None
        after = snapshot()
        after.procs = self.seen | after.procs
        seconds = time.monotonic() - self._start
        return _usage(self.before, after, seconds, self._category)

    def _category(self, proc: Proc) -> str:
        if proc.session in self.sessions:
            return self.sessions[proc.session]
        if proc.comm == "postgres":
            # Backends name their database; the server's own processes don't.
            backend = " 127.0.0.1(" in proc.cmd or " [local]" in proc.cmd
            ours = not backend or f" {self.database} " in proc.cmd
            return "postgres" if ours else "other"
        if proc.comm in RABBITMQ:
            return "rabbitmq"
        if proc.pid == os.getpid():
            return "load generator"
        if proc.ppid == os.getpid():
            return CHILD  # counted exactly, once finished, from getrusage
        return "other"


def _usage(
    before: Snapshot,
    after: Snapshot,
    seconds: float,
    category: Callable[[Proc], str],
) -> dict[str, object]:
    by: Counter[str] = Counter()
    foreign: Counter[str] = Counter()
    for key, proc in after.procs.items():
        start = before.procs.get(key)
        ticks = proc.ticks - (start.ticks if start else 0)
        name = category(proc)
        by[name] += ticks
        if name == "other":
            foreign[proc.comm] += ticks
    # Load generators are this process's children, finished by now.
    by.pop(CHILD, None)
    by["load generator"] += round((after.children - before.children) * TICK)
    attributed = sum(by.values()) - by["other"]
    # "other" is the rest of the machine's busy time: other users, and
    # processes too short-lived to be sampled (such as the PostgreSQL backend
    # a Celery task opens and closes).
    by["other"] = max(0, after.busy - before.busy - attributed)
    cores = {name: round(ticks / TICK / seconds, 2) for name, ticks in by.items()}
    busiest = {
        comm: round(ticks / TICK / seconds, 2)
        for comm, ticks in foreign.most_common(3)
        if ticks / TICK / seconds >= 0.05
    }
    return {
        "cores": dict(sorted(cores.items(), key=lambda kv: -kv[1])),
        "machine_busy": round((after.busy - before.busy) / TICK / seconds, 2),
        "other_busiest": busiest,
    }
