"""Keeping the memory a web process frees for its next request."""

from __future__ import annotations

import ctypes
import ctypes.util

# glibc's mallopt() parameters.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap, not from a mapping of their
# own (glibc's largest: 32 MiB on 64-bit machines).
HEAP_BLOCKS_UP_TO = 32 << 20
# Free memory at the top of the heap kept for the next request, up to this.
KEPT_FREE = 256 << 20


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep the large blocks a request frees, for the
    next request to reuse: whether it could (not on another C library).

    A metrics report over years by day makes arrays of several megabytes
    (a million histogram entries, tens of megabytes in all). By default
    glibc maps each such block afresh and unmaps it when freed, so every
    request touched its memory for the first time again: a page fault each
    4 KiB, 10 to 20 ms of such a request. Kept in the heap, they are reused
    as they are; the process keeps at most KEPT_FREE of them unused."""
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    if mallopt is None:
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_BLOCKS_UP_TO)) and bool(
        mallopt(M_TRIM_THRESHOLD, KEPT_FREE)
    )
