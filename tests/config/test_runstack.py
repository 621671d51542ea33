"""`make run`'s last step: web, worker and beat start together, are kept
running, and stop on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.embedded import ROOT, Runstack, embedded_env, free_port
from tests.live import CONFIGURED, wait_until

# The PostgreSQL + RabbitMQ run of the suite has its own runstack test.
embedded_only = pytest.mark.skipif(
    CONFIGURED, reason="about the embedded stack: runs in the embedded `make test`"
)


@pytest.fixture
def stack_env(tmp_path) -> dict[str, str]:
    return embedded_env(tmp_path, free_port())


def wait_for(log: Path, *needles: str, seconds: float = 90) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = log.read_text()
        if all(needle in text for needle in needles):
            return text
        time.sleep(0.3)
    raise AssertionError(f"never saw {needles} in:\n{log.read_text()[-4000:]}")


@embedded_only  # the embedded stack in either pass: it runs once, in the embedded one
def test_runstack_sets_up_serves_runs_tasks_and_stops_on_ctrl_c(stack_env):
    log = Path(stack_env["VIGIL_VAR_DIR"]) / "runstack.log"
    with log.open("w") as out:
        stack = subprocess.Popen(
            [sys.executable, "manage.py", "runstack"],
            cwd=ROOT, env=stack_env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{stack_env['PORT']}"
    try:
        text = wait_for(log, "vigil@", "ready.", "beat: Starting", "Uvicorn running")
        assert "password" in text  # the demo admin's, printed on first run
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             "from incidents.tasks import incident_targets_sweep_task as t; t.delay()"],
            cwd=ROOT, env=stack_env, check=True, timeout=60,
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


def test_runstack_refuses_a_bad_port_before_starting_anything(stack_env):
    stack_env["PORT"] = "not-a-port"
    result = subprocess.run(
        [sys.executable, "manage.py", "runstack"],
        cwd=ROOT, env=stack_env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "PORT='not-a-port' is not a whole number" in result.stderr


@embedded_only
def test_a_worker_killed_with_kill_9_is_restarted_and_pages_go_out_again(tmp_path):
    stack = Runstack.start(tmp_path)  # on a free port, not 8000
    try:
        assert f"Admin            {stack.url}/admin/" in stack.text()
        stack.add_verified_email("oncall@example.com")
        before = stack.programs()
        offset = len(stack.text())
        os.kill(before["worker"], signal.SIGKILL)
        stack.wait_for(
            "stack  | worker exited with code -9 (SIGKILL); restarting it in 1s",
            "ready.",
            after=offset,
        )
        after = stack.programs()
        assert after["worker"] != before["worker"]
        assert (after["web"], after["beat"]) == (before["web"], before["beat"])

        assert stack.send_alert("disk-full-after-restart") == 202
        wait_until(
            lambda: stack.deliveries(purpose="page", status="sent"),
            "a page sent by the new worker",
            seconds=120,
        )
        # The page's links lead to where this stack serves.
        stack.wait_for(f"Acknowledge: {stack.url}/respond/", in_mail=True)
    finally:
        code = stack.stop()
    assert code == 0, stack.text()[-3000:]
    assert stack.restarts() == [("worker", "-9")]
    assert "Stopped web, worker and beat." in stack.text()
