"""Python's cyclic garbage collector held off while a block runs.

A request that builds a large answer (a metrics report over years by day:
a thousand groups, each with its arrays and rows) allocates enough objects
to set off a full collection partway, which walks every object the process
holds that `gc.freeze` did not set aside: 10 to 15 ms in the middle of the
request. Objects without reference cycles are freed by their counts as
always; cycles wait for the collector, which runs as usual once the last
such block has ended.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holding = 0  # blocks running, in every thread
_was_enabled = True  # the collector's state when the first of them began


@contextmanager
def collection_deferred() -> Iterator[None]:
    """Run the block with the cyclic collector off. Blocks may nest and run
    in several threads at once: the collector is off from the first one's
    start to the last one's end, then as it was before."""
    global _holding, _was_enabled
    with _lock:
        if _holding == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holding += 1
    try:
        yield
    finally:
        with _lock:
            _holding -= 1
            if _holding == 0 and _was_enabled:
                gc.enable()
