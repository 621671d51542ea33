"""One stack as `make run` starts it, seeded with a second team, for the
console's browser tests."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.live import ROOT, FirstRun, first_run

SEED = Path(__file__).with_name("seed.py")


@dataclass(frozen=True)
class Console:
    run: FirstRun
    theirs: int  # an incident of the Payments team, which the admin's team is not
    theirs_id: str

    @property
    def url(self) -> str:
        return self.run.url


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with first_run(tmp_path_factory.mktemp("console")) as run:
        seeded = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "shell", "-c", SEED.read_text()],
            cwd=ROOT,
            env=run.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        made = json.loads(seeded.stdout.strip().splitlines()[-1])
        yield Console(run, made["theirs"], made["theirs_id"])


@pytest.fixture(scope="module")
def api(console: Console) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=console.url,
        headers={"Authorization": f"Token {console.run.token}"},
        timeout=30,
    ) as client:
        yield client
