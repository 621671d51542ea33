"""Load generators, each run as a process of its own on loopback.

- closed loop, a fixed number of connections for a fixed time: `wrk`, with a
  Lua script that gives every request a dedup key of its own;
- closed loop, an exact number of identical requests: `ab`;
- open loop, a fixed arrival rate: `bench.openloop` (Python asyncio).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stack import ROOT

KEY_MARK = "@@KEY@@"
RESULT_MARK = "BENCH_RESULT "


class LoadError(RuntimeError):
    """A load generator is missing or failed."""


def trigger_body(routing_key: str, dedup_key: str = KEY_MARK) -> str:
    """A valid Events v2 trigger; KEY_MARK is replaced per request."""
    body = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": f"Bench alert {dedup_key}",
            "source": "bench",
            "severity": "critical",
        },
    }
    return json.dumps(body, separators=(",", ":"))


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise LoadError(
            f"{name} not found (Debian: apt-get install -y wrk apache2-utils)"
        )
    return path


# --- wrk: closed loop, distinct keys -----------------------------------------


@dataclass(frozen=True)
class ClosedLoop:
    connections: int
    seconds: float
    requests: int
    accepted: int
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0


LUA = """
local parts = {%(parts)s}
local path = [==[%(path)s]==]
local headers = {["Content-Type"] = "application/json"}
local count, prefix, threads, ids = 0, "", {}, 0

function setup(thread)
  ids = ids + 1
  thread:set("id", ids)
  table.insert(threads, thread)
end

function init(args)
  prefix = [==[%(run)s]==] .. "-" .. id .. "-"
end

function request()
  count = count + 1
  local key = prefix .. count
  return wrk.format("POST", path, headers, table.concat(parts, key))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,' ..
    '"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


def _lua_script(body: str, path: str, run: str) -> str:
    # The body is rebuilt per request as its parts joined by the request's key.
    parts = ", ".join(f"[==[{part}]==]" for part in body.split(KEY_MARK))
    return LUA % {
        "parts": parts,
        "path": path,
        "run": run,
        "mark": RESULT_MARK,
    }


def wrk(
    url: str, body: str, *, connections: int, seconds: float, run: str
) -> ClosedLoop:
    """Closed-loop load, one wrk thread, every request with a key of its own."""
    path = "/" + url.split("/", 3)[3]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua_script(body, path, run))
    try:
        args = [
            tool("wrk"), "-t1", f"-c{connections}", f"-d{round(seconds)}s",
            "--timeout", "10s", "-s", script.name, url,
        ]  # fmt: skip
        out = _run(args, timeout=seconds + 60)
    finally:
        Path(script.name).unlink(missing_ok=True)
    return _parse_wrk(out, connections)


def _parse_wrk(out: str, connections: int) -> ClosedLoop:
    line = next((x for x in out.splitlines() if x.startswith(RESULT_MARK)), None)
    if line is None:
        raise LoadError(f"wrk printed no result:\n{out[-2000:]}")
    r = json.loads(line[len(RESULT_MARK) :])
    errors = {k: r[k] for k in ("connect", "read", "write", "status", "timeout")}
    return ClosedLoop(
        connections=connections,
        seconds=r["duration_us"] / 1e6,
        requests=r["requests"],
        accepted=r["requests"] - r["status"],
        errors=errors,
        latency_ms={p: r[f"{p}_us"] / 1000 for p in ("p50", "p90", "p99", "max")},
    )


# --- ab: an exact number of identical requests -------------------------------


@dataclass(frozen=True)
class Burst:
    requests: int
    seconds: float
    failed: int
    non_2xx: int
    latency_ms: dict[str, float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ab(url: str, body: str, *, requests: int, connections: int) -> Burst:
    """`requests` POSTs of the same body over `connections` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as data:
        data.write(body)
    try:
        args = [
            tool("ab"), "-q", "-r", "-n", str(requests), "-c", str(connections),
            "-s", "30", "-p", data.name, "-T", "application/json", url,
        ]  # fmt: skip
        out = _run(args, timeout=600)
    finally:
        Path(data.name).unlink(missing_ok=True)
    return _parse_ab(out)


def _ab_number(out: str, label: str, default: float | None = None) -> float:
    found = re.search(rf"^{re.escape(label)}:\s+([\d.]+)", out, re.MULTILINE)
    if found is None:
        if default is None:
            raise LoadError(f"ab printed no {label!r}:\n{out[-2000:]}")
        return default
    return float(found.group(1))


def _parse_ab(out: str) -> Burst:
    percentiles = {
        f"p{m.group(1)}": float(m.group(2))
        for m in re.finditer(r"^\s+(\d+)%\s+(\d+)", out, re.MULTILINE)
    }
    return Burst(
        requests=int(_ab_number(out, "Complete requests")),
        seconds=_ab_number(out, "Time taken for tests"),
        failed=int(_ab_number(out, "Failed requests")),
        non_2xx=int(_ab_number(out, "Non-2xx responses", 0)),
        latency_ms={k: percentiles[k] for k in ("p50", "p90", "p99", "p100")},
    )


# --- bench.openloop: a fixed arrival rate --------------------------------------


def open_loop(
    port: int,
    path: str,
    body: str,
    *,
    rate: float,
    seconds: float,
    run: str,
    record_sent: bool = False,
    method: str = "POST",
) -> dict[str, Any]:
    """Requests at a fixed rate; latency from each request's scheduled time.

    With `record_sent`, the result's `sent_at` maps each request's dedup key
    to the wall-clock time it was sent.
    """
    config = {
        "method": method,
        "record_sent": record_sent,
        "port": port,
        "path": path,
        "body": body,
        "mark": KEY_MARK,
        "rate": rate,
        "seconds": seconds,
        "run": run,
    }
    out = _run(
        [sys.executable, "-m", "bench.openloop", json.dumps(config)],
        timeout=seconds + 120,
    )
    line = next((x for x in out.splitlines() if x.startswith(RESULT_MARK)), None)
    if line is None:
        raise LoadError(f"bench.openloop printed no result:\n{out[-2000:]}")
    result: dict[str, Any] = json.loads(line[len(RESULT_MARK) :])
    return result


def _run(args: list[str], timeout: float) -> str:
    done = subprocess.run(  # noqa: S603
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-2000:]
        raise LoadError(f"{Path(args[0]).name} failed:\n{output}")
    return done.stdout
