"""`make run`'s last step: web, worker and beat start together and stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def embedded_env(tmp_path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env.update(VIGIL_VAR_DIR=str(tmp_path), PORT=str(free_port()))
    return env


def wait_for(log: Path, *needles: str, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text()
        if all(needle in text for needle in needles):
            return text
        time.sleep(0.3)
    raise AssertionError(f"never saw {needles} in:\n{log.read_text()[-4000:]}")


def test_runstack_sets_up_serves_runs_tasks_and_stops_on_ctrl_c(embedded_env):
    log = Path(embedded_env["VIGIL_VAR_DIR"]) / "runstack.log"
    with log.open("w") as out:
        stack = subprocess.Popen(
            [sys.executable, "manage.py", "runstack"],
            cwd=ROOT, env=embedded_env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{embedded_env['PORT']}"
    try:
        text = wait_for(log, "vigil@", "ready.", "beat: Starting", "Uvicorn running")
        assert "password" in text  # the demo admin's, printed on first run
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from incidents.tasks import incident_targets_sweep_task as t; t.delay()"],
            cwd=ROOT, env=embedded_env, check=True, timeout=60,
        )  # fmt: skip
        wait_for(log, "incident_targets_sweep_task", "succeeded")
        assert httpx.get(f"{base}/admin/login/").status_code == 200
        assert httpx.get(f"{base}/api/v1/incidents/").status_code == 401
        assert httpx.get(f"{base}/static/admin/css/base.css").status_code == 200
        # An ingest key sent as ?token= stays out of the access log.
        assert httpx.get(f"{base}/v2/enqueue?token=Secret0Key").status_code == 405
        wait_for(log, "/v2/enqueue?token=[redacted]")
    finally:
        stack.send_signal(signal.SIGINT)
        code = stack.wait(timeout=40)
    text = log.read_text()
    assert code == 0, text[-3000:]
    assert "Stopped web, worker and beat." in text
    assert "Traceback" not in text
    assert "Secret0Key" not in text


def test_runstack_stops_everything_when_one_program_dies(embedded_env):
    embedded_env["PORT"] = "not-a-port"
    result = subprocess.run(
        [sys.executable, "manage.py", "runstack"],
        cwd=ROOT, env=embedded_env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "PORT='not-a-port' is not a whole number" in result.stderr
