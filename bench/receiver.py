"""A fast local webhook receiver for benchmarks: it notes when each delivery arrives.

Run as `python -m bench.receiver PORT`. Every POST is answered 200 at once;
its arrival time (time.time()) is kept by the `X-Vigil-Delivery` header.
`GET /stats` returns {"count": n, "arrivals": {delivery_id: [t, ...]}} and
`POST /reset` forgets everything. One asyncio process, so that receiving
costs the machine little next to the workers being measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

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
                ARRIVALS.setdefault(headers.get("x-vigil-delivery", "?"), []).append(
                    arrived
                )
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


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
