"""Producers and consumers of the embedded broker in separate processes.

`stress()` starts them on one queue folder and returns what every consumer
got. The test in test_broker.py runs it on Vigil's transport; run it alone to
compare kombu's own filesystem transport, which loses messages to consumers
that read a file before its producer wrote it:

    .venv/bin/python -m tests.config.broker_stress --transport filesystem
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Queue

VIGIL = "config.broker:Transport"
# About the size of a Celery task message, whose envelope kombu writes whole.
FILLER = "x" * 1500


def folders(root: Path) -> dict[str, Any]:
    """Return transport options with every folder under `root`."""
    options: dict[str, Any] = {"store_processed": False}
    for option, name in (
        ("data_folder_in", "queue"),
        ("data_folder_out", "queue"),
        ("staging_folder", "staging"),
        ("processed_folder", "processed"),
        ("control_folder", "control"),
    ):
        (root / name).mkdir(parents=True, exist_ok=True)
        options[option] = str(root / name)
    return options


def connection(transport: str, options: dict[str, Any]) -> Connection:
    return Connection("filesystem://", transport=transport, transport_options=options)


def fresh_queue() -> Queue:
    """Return a queue of a new name: kombu remembers, per process and
    whatever the folders, which bindings it already declared."""
    name = f"q-{uuid.uuid4().hex[:12]}"
    return Queue(name, Exchange(name), routing_key=name)


def produce(
    transport: str, options: dict[str, Any], name: str, producer: int, count: int
) -> None:
    with connection(transport, options) as conn:
        publisher = conn.Producer(serializer="json")
        for number in range(count):
            publisher.publish(
                {"producer": producer, "number": number, "filler": FILLER},
                exchange=name,
                routing_key=name,
            )


def consume(
    transport: str,
    options: dict[str, Any],
    name: str,
    done: Any,
    got: Any,
    out: str,
) -> None:
    """Take messages until `done` is set; write what came and what failed."""
    received: list[list[int]] = []
    errors: list[str] = []
    with connection(transport, options) as conn:
        channel = conn.channel()
        while not done.is_set():
            try:
                message = channel.basic_get(name, no_ack=True)
            except Exception as exc:  # what the worker would have died of
                errors.append(repr(exc))
                continue
            if message is None:
                time.sleep(0.002)
                continue
            body = message.decode()
            received.append([body["producer"], body["number"]])
            with got.get_lock():
                got.value += 1
    Path(out).write_text(json.dumps({"received": received, "errors": errors}))


@dataclass
class Outcome:
    sent: int
    received: list[tuple[int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    left_in_queue: int = 0

    @property
    def lost(self) -> int:
        return self.sent - len(set(self.received))

    @property
    def duplicated(self) -> int:
        return len(self.received) - len(set(self.received))


def stress(
    root: Path,
    *,
    transport: str = VIGIL,
    producers: int = 4,
    consumers: int = 3,
    per_producer: int = 3000,
    seconds: float = 240,
) -> Outcome:
    """Send producers x per_producer messages while consumers take them."""
    options = folders(root)
    queue = fresh_queue()
    with connection(transport, options) as conn:
        queue(conn.default_channel).declare()
    spawn = multiprocessing.get_context("spawn")
    done, got = spawn.Event(), spawn.Value("i", 0)
    outs = [str(root / f"consumer-{n}.json") for n in range(consumers)]
    takers = [
        spawn.Process(
            target=consume, args=(transport, options, queue.name, done, got, out)
        )
        for out in outs
    ]
    makers = [
        spawn.Process(
            target=produce, args=(transport, options, queue.name, n, per_producer)
        )
        for n in range(producers)
    ]
    for process in takers + makers:
        process.start()
    outcome = Outcome(sent=producers * per_producer)
    deadline = time.monotonic() + seconds
    try:
        for process in makers:
            process.join(max(0.0, deadline - time.monotonic()))
        # A lost message never arrives: stop when all came, or once the
        # queue stayed empty for a while after the producers finished.
        idle_since = time.monotonic()
        inbox = Path(options["data_folder_in"])
        while got.value < outcome.sent and time.monotonic() < deadline:
            if any(inbox.iterdir()):
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > 3:
                break
            time.sleep(0.05)
    finally:
        done.set()
        for process in takers + makers:
            process.join(30)
            if process.is_alive():
                process.kill()
    for out in outs:
        result = json.loads(Path(out).read_text())
        outcome.received += [tuple(pair) for pair in result["received"]]
        outcome.errors += result["errors"]
    outcome.left_in_queue = sum(1 for _ in Path(options["data_folder_in"]).iterdir())
    return outcome


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transport", default=VIGIL, help="e.g. filesystem")
    parser.add_argument("--per-producer", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        found = stress(
            Path(tmp), transport=args.transport, per_producer=args.per_producer
        )
    print(
        f"{args.transport}: sent {found.sent}, received {len(found.received)}, "
        f"lost {found.lost}, duplicated {found.duplicated}, "
        f"errors {len(found.errors)} {sorted(set(found.errors))[:3]}, "
        f"left in queue {found.left_in_queue}, {time.monotonic() - start:.0f}s"
    )
