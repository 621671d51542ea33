"""The web entry points, as gunicorn and uvicorn load them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.embedded import ROOT


def in_a_process_of_its_own(code: str, tmp_path: Path) -> str:
    """Run `code` in a Python process of its own; return what it printed."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "VIGIL_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_what_an_entry_point_loads_is_kept_out_of_full_collections(module, tmp_path):
    # A process of its own: freezing is for the whole process.
    printed = in_a_process_of_its_own(
        f"import gc, {module}; print(gc.get_freeze_count())", tmp_path
    )

    # Django, the apps and their dependencies: about a hundred thousand.
    assert int(printed.split()[-1]) > 50_000


# How much of the heap is mapped blocks and free memory kept, after a 16 MiB
# block is made and then freed.
HEAP_AFTER_A_LARGE_BLOCK = """
import ctypes, {module}
names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
block = bytearray(16 << 20)
mapped = libc.mallinfo2().hblkhd
del block
print(mapped, libc.mallinfo2().fordblks)
"""


@pytest.mark.parametrize("module", ["config.wsgi", "config.asgi"])
def test_a_large_block_a_request_frees_is_kept_for_the_next_one(module, tmp_path):
    printed = in_a_process_of_its_own(
        HEAP_AFTER_A_LARGE_BLOCK.format(module=module), tmp_path
    )

    mapped, kept = map(int, printed.split()[-2:])
    # In the heap, not a mapping of its own; and still there once freed.
    assert mapped < 16 << 20
    assert kept >= 16 << 20
