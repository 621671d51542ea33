"""The shared file cache: of processes adding one key at once, one wins
(each round, a new key, all processes let go at the same moment)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from config.cache import ExclusiveAddFileCache

ROUNDS, PROCESSES = 30, 8


def _add(directory: str, start: Any, results: Any) -> None:
    cache = ExclusiveAddFileCache(directory, {})
    for n in range(ROUNDS):
        start.wait()
        results.put((n, cache.add(f"lock{n}", 1, timeout=5)))


def test_of_processes_adding_one_key_at_once_exactly_one_succeeds(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_add, args=(str(tmp_path), start, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    added = [results.get(timeout=60) for _ in range(ROUNDS * PROCESSES)]
    for worker in workers:
        worker.join(timeout=30)
    winners = [sum(won for n, won in added if n == r) for r in range(ROUNDS)]

    assert winners == [1] * ROUNDS


def test_an_expired_key_can_be_added_again(tmp_path: Path):
    cache = ExclusiveAddFileCache(str(tmp_path), {})

    assert cache.add("lock", 1, timeout=-1)  # expired as soon as written
    assert cache.add("lock", 2, timeout=5)
    assert not cache.add("lock", 3, timeout=5)
    assert cache.get("lock") == 2
