"""Running test work in simultaneous threads, each with its own connection."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection


def in_threads(count: int, work: Callable[[int], object]) -> list[BaseException]:
    """Run `work(0)` … `work(count - 1)` at once, one thread each; return
    what they raised. Each closes its database connection when done."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=20)
            work(n)
        except BaseException as error:  # collected for the assert
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
