"""A fast local webhook receiver for benchmarks: it notes when each delivery arrives.

Run as `python -m bench.receiver PORT`. Every POST is answered 200 at once;
its arrival time (time.time()) is kept by the `X-Vigil-Delivery` header, or
by the request's path for senders without one (Slack, Teams: give each
destination a path of its own). `GET /stats` returns
{"count": n, "arrivals": {delivery_id or path: [t, ...]}} and `POST /reset`
forgets everything. One asyncio process, so that receiving costs the machine
little next to the workers being measured.

The functions below are the benchmarks' side: read and reset the receiver.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from typing import Any

ARRIVALS: dict[str, list[float]] = {}


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            arrived = time.time()
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            body = b"ok"
            if method == "GET" and path == "/stats":
                count = sum(len(times) for times in ARRIVALS.values())
                body = json.dumps({"count": count, "arrivals": ARRIVALS}).encode()
            elif method == "POST" and path == "/reset":
                ARRIVALS.clear()
            else:
                key = headers.get("x-vigil-delivery") or path.split("?")[0]
                ARRIVALS.setdefault(key, []).append(arrived)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# --- Client side -------------------------------------------------------------


def stats(port: int) -> dict[str, Any]:
    """Return what the receiver on `port` got so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as r:
        return dict(json.loads(r.read()))


def reset(port: int) -> None:
    """Make the receiver forget every arrival."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/reset", data=b"", method="POST"
    )
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def answers(port: int) -> bool:
    try:
        return stats(port) is not None
    except OSError:
        return False


def wait_for(port: int, count: int, seconds: float) -> dict[str, Any]:
    """Return the stats once `count` requests arrived, or after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        got = stats(port)
        if got["count"] >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.25)


def duplicates(arrivals: dict[str, list[float]]) -> int:
    """Requests that repeated one already received (same delivery id or path)."""
    return sum(len(times) - 1 for times in arrivals.values())


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
