"""Peak resident memory of each of Vigil's processes during a run, from /proc.

Every process the benches start leads a session of its own (bench.stack.spawn),
so a process tree is told by its session id: the leader is the gunicorn
master or a Celery node's main process, the others its workers (gunicorn's
sync workers, Celery's prefork pool processes). Each is sampled separately.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench import cpu

MB = 1024 * 1024
TARGET_MB = 250.0


@dataclass
class Series:
    role: str  # what the process is: "web (gunicorn) worker 2", ...
    pid: int
    peak: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)


@dataclass
class RssSampler:
    """Sample the RSS of the watched process trees every `interval` seconds."""

    interval: float = 0.5
    watched: dict[int, str] = field(default_factory=dict)  # session id -> name
    series: dict[tuple[int, int], Series] = field(default_factory=dict)
    _children: dict[int, int] = field(default_factory=dict)  # session -> count
    _ticker: cpu.Ticker | None = None
    _start: float = 0.0

    def watch(self, sessions: dict[int, str]) -> None:
        """Also sample these process trees (session id -> what they are)."""
        self.watched.update(sessions)

    def __enter__(self) -> RssSampler:
        self._start = time.monotonic()
        self._ticker = cpu.Ticker(self.interval, self.sample)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._ticker is not None:
            self._ticker.stop()

    def sample(self) -> None:
        now = round(time.monotonic() - self._start, 2)
        for key, proc in cpu.procs().items():
            name = self.watched.get(proc.session)
            if name is None or proc.rss == 0:
                continue
            series = self.series.get(key)
            if series is None:
                series = Series(self._role(name, proc), proc.pid)
                self.series[key] = series
            series.peak = max(series.peak, proc.rss)
            series.samples.append((now, proc.rss))

    def _role(self, name: str, proc: cpu.Proc) -> str:
        if proc.pid == proc.session:
            return f"{name} main"
        self._children[proc.session] = self._children.get(proc.session, 0) + 1
        return f"{name} child {self._children[proc.session]}"

    def result(self) -> dict[str, Any]:
        """Peak RSS per process and overall, in MB, and the samples."""
        rows = sorted(self.series.values(), key=lambda s: s.role)
        peak = max((s.peak for s in rows), default=0) / MB
        return {
            "interval_s": self.interval,
            "processes": [
                {
                    "role": s.role,
                    "pid": s.pid,
                    "peak_mb": round(s.peak / MB, 1),
                    "samples": len(s.samples),
                }
                for s in rows
            ],
            "max_peak_mb": round(peak, 1),
            "targets": {
                "max_peak_mb": {
                    "value": round(peak, 1),
                    "target": f"<= {TARGET_MB:g}",
                    "pass": peak <= TARGET_MB,
                }
            },
            # For the chart: seconds since the sampling started, MB.
            "series": {
                s.role: [[t, round(rss / MB, 1)] for t, rss in s.samples] for s in rows
            },
        }
