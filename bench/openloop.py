"""Open-loop HTTP load at a fixed arrival rate (run as its own process).

Request i is due at start + i / rate, whatever happened to the requests
before it, and its latency is counted from that due time, not from when it
was actually sent: a stalled server or client cannot hide its stall
(no coordinated omission). Each request opens a connection of its own, as
gunicorn's sync workers close the connection after every response.

    python -m bench.openloop '{"port": 8000, "path": "/v2/enqueue", ...}'

prints one line `BENCH_RESULT {json}`. With `"record_sent": true` in the
configuration it also gives, by dedup key, the wall-clock time (time.time())
each request started to connect, for measuring what happens after it.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

RESULT_MARK = "BENCH_RESULT "
TIMEOUT = 10.0


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


def requests_of(config: dict[str, Any]) -> list[bytes]:
    """Every request, built before the clock starts, each with its own key."""
    total = math.floor(config["rate"] * config["seconds"])
    template = config["body"]
    out = []
    method = config.get("method", "POST")
    for i in range(total):
        body = template.replace(config["mark"], key_of(config, i)).encode()
        head = (
            f"{method} {config['path']} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{config['port']}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        out.append(head.encode() + body)
    return out


def key_of(config: dict[str, Any], i: int) -> str:
    """The dedup key of request i."""
    return f"{config['run']}-{i}"


async def one(port: int, request: bytes, due: float, tally: Tally, key: str) -> None:
    tally.lags.append(time.perf_counter() - due)
    tally.sent_at[key] = time.time()
    try:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            response = await reader.read()
            writer.close()
    except TimeoutError:
        tally.count("timeout")
        return
    except OSError as error:
        tally.count(type(error).__name__)
        return
    tally.latencies.append(time.perf_counter() - due)
    tally.count(response[9:12].decode(errors="replace") or "empty")


async def drive(config: dict[str, Any]) -> tuple[Tally, float]:
    requests = requests_of(config)
    interval = 1.0 / config["rate"]
    tally, tasks = Tally(), set()
    start = time.perf_counter() + 0.1
    for i, request in enumerate(requests):
        due = start + i * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        key = key_of(config, i)
        task = asyncio.create_task(one(config["port"], request, due, tally, key))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - start


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(config: dict[str, Any], tally: Tally, elapsed: float) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in tally.latencies)
    lags = sorted(x * 1000 for x in tally.lags)
    sent = len(tally.lags)
    recorded = {"sent_at": tally.sent_at} if config.get("record_sent") else {}
    return recorded | {
        "target_rate": config["rate"],
        "seconds": config["seconds"],
        "sent": sent,
        "achieved_rate": sent / config["seconds"],
        "elapsed_s": elapsed,
        "statuses": tally.statuses,
        "latency_ms": {
            name: percentile(ms, pct)
            for name, pct in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9))
        }
        | {"max": ms[-1] if ms else 0.0, "mean": sum(ms) / len(ms) if ms else 0.0},
        # How late the client itself started requests: large values mean the
        # client, not the server, was short of CPU.
        "send_lag_ms": {"p99": percentile(lags, 99), "max": lags[-1] if lags else 0},
    }


def main() -> None:
    config = json.loads(sys.argv[1])
    try:
        import uvloop
    except ImportError:
        tally, elapsed = asyncio.run(drive(config))
    else:
        tally, elapsed = uvloop.run(drive(config))
    print(RESULT_MARK + json.dumps(summary(config, tally, elapsed)), flush=True)


if __name__ == "__main__":
    main()
