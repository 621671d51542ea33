"""Django's file cache, with an add() that one process wins.

Django's file cache adds a key by looking for its file, then writing it: two
processes may both look, find nothing, and both "add" it. Here the look and
the write happen under an exclusive lock on a file in the cache's directory
(held by one process at a time, let go when closed, even by a process that
dies), so of processes adding the same key at once exactly one succeeds.
Only add() takes the lock; reads and writes are Django's own.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache


class ExclusiveAddFileCache(FileBasedCache):
    def __init__(self, dir: str, params: dict[str, Any]) -> None:
        super().__init__(dir, params)
        self.directory = os.path.abspath(dir)

    def add(
        self,
        key: Any,
        value: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
    ) -> bool:
        os.makedirs(self.directory, exist_ok=True)
        with open(os.path.join(self.directory, "add.lock"), "a") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            return super().add(key, value, timeout, version)
