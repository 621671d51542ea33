"""The whole production-style stack `python -m bench` shares between scenarios.

As README "Running on PostgreSQL and RabbitMQ" recommends: gunicorn serving
`config.wsgi:application` with sync workers (the HTTP API), uvicorn serving
`config.asgi:application` (websockets, which also consumes the live events),
two Celery worker nodes (`NODES`: one on the urgent queues, one on every
queue at a lower CPU weight, `NICE`), one Celery beat, and the local
webhook receiver every page goes to. A scratch database and vhost, as for
the other benches; all torn down at the end.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator

from bench.stack import (
    Stack,
    consuming,
    free_port,
    prepare,
    spawn,
    spawn_beat,
    spawn_receiver,
    spawn_worker,
    start_gunicorn,
    until,
)
from config.celery import QUEUES, URGENT_QUEUES

WEB_WORKERS = 4  # chosen by bench.ingest's sweep, see docs/benchmarks.md
# The README's layout: a node on the urgent queues (pages, escalation steps,
# integrations' first events) and one on every queue for the rest (channel
# messages, storms' backlogs); 4 processes on 2 cores.
NODES = {"urgent": URGENT_QUEUES, "bulk": QUEUES}
# The README's layout: the bulk node yields the CPU to the web processes and
# the urgent node while a storm's backlog keeps it busy (docs/queues.md).
NICE = {"bulk": 5}
CONCURRENCY = 2  # per node: 4 processes on 2 cores, as the README recommends


@contextlib.contextmanager
def shared_stack(
    web_workers: int = WEB_WORKERS, concurrency: int = CONCURRENCY
) -> Iterator[Stack]:
    """Yield the running stack; stop and drop everything after."""
    with contextlib.ExitStack() as stack:
        st = prepare(stack)
        st.others["receiver"], st.receiver_port = spawn_receiver(st.env, st.var_dir)
        for node, queues in NODES.items():
            st.others[f"worker {node}"] = spawn_worker(
                st.env,
                st.var_dir / f"{node}.log",
                queues=",".join(queues),
                concurrency=concurrency,
                node=node,
                nice=NICE.get(node, 0),
            )
        until("the worker nodes", lambda: consuming(st.broker_url, URGENT_QUEUES, 2))
        until("the worker nodes", lambda: consuming(st.broker_url, QUEUES, 1))
        st.others["beat"] = spawn_beat(st.env, st.var_dir)
        st.others["websockets (uvicorn)"] = _start_uvicorn(st)
        start_gunicorn(st, web_workers)
        yield st


def _start_uvicorn(st: Stack) -> subprocess.Popen[bytes]:
    port = free_port()
    log = st.var_dir / "uvicorn.log"
    args = [
        sys.executable, "-m", "uvicorn", "config.asgi:application",
        "--host", "127.0.0.1", "--port", str(port),
        "--lifespan", "off", "--log-level", "warning",
    ]  # fmt: skip
    proc = spawn(args, st.env, log)
    until("uvicorn", lambda: _listens(port), proc=proc, log=log)
    return proc


def _listens(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
