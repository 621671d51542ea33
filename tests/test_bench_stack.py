"""The bench's production-style stack gives its processes the CPU weights the
README's layout asks for."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from bench.shared import NICE
from bench.stack import spawn, stop, until

README = Path(__file__).resolve().parents[1] / "README.md"
SLEEPER = [sys.executable, "-c", "import time; time.sleep(30)"]


def test_a_lowered_process_yields_to_the_others_of_its_session_and_across_sessions(
    tmp_path: Path,
) -> None:
    lowered = spawn(SLEEPER, dict(os.environ), tmp_path / "log", nice=5)
    try:
        until("the sleeper", lambda: running(lowered.pid, SLEEPER))
        assert os.getpriority(os.PRIO_PROCESS, lowered.pid) == 5
        group = Path(f"/proc/{lowered.pid}/autogroup")
        if group.exists():  # Linux, built with per-session groups
            assert group.read_text().split()[1:] == ["nice", "5"]
    finally:
        stop(lowered)


def test_a_process_started_plainly_keeps_the_default_weight(tmp_path: Path) -> None:
    plain = spawn(SLEEPER, dict(os.environ), tmp_path / "log")
    try:
        until("the sleeper", lambda: running(plain.pid, SLEEPER))
        assert os.getpriority(os.PRIO_PROCESS, plain.pid) == os.getpriority(
            os.PRIO_PROCESS, 0
        )
        group = Path(f"/proc/{plain.pid}/autogroup")
        if group.exists():
            assert group.read_text().split()[-1] == "0"
    finally:
        stop(plain)


def test_the_bench_lowers_the_nodes_the_readme_lowers() -> None:
    layout = README.read_text().split("In production run the pieces separately")[1]
    lowered = {
        node: int(nice)
        for nice, node in re.findall(
            r"^nice -n (\d+) celery .*--hostname (\w+)@", layout, re.MULTILINE
        )
    }

    assert lowered == NICE == {"bulk": 5}


def running(pid: int, args: list[str]) -> bool:
    """Whether `pid` runs `args` (and no longer `nice`, before its exec)."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1] == [
        arg.encode() for arg in args
    ]


@pytest.fixture(autouse=True)
def _linux_only() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("process priorities are read from Linux's /proc")
