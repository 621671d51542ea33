from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import (
    ConfigurationError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
)

ROOT = Path(__file__).resolve().parents[2]


def test_unset_variables_take_their_default(monkeypatch):
    monkeypatch.delenv("VIGIL_X", raising=False)
    assert env_str("VIGIL_X", "d") == "d"
    assert env_bool("VIGIL_X", default=True) is True
    assert env_int("VIGIL_X", 7) == 7
    assert env_list("VIGIL_X", ["a"]) == ["a"]


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("Yes", True), ("off", False)])
def test_booleans(monkeypatch, raw, value):
    monkeypatch.setenv("VIGIL_X", raw)
    assert env_bool("VIGIL_X", default=not value) is value


def test_lists_drop_blanks(monkeypatch):
    monkeypatch.setenv("VIGIL_X", " a, ,b ,")
    assert env_list("VIGIL_X", []) == ["a", "b"]


@pytest.mark.parametrize(
    ("call", "raw", "message"),
    [
        (lambda: env_bool("VIGIL_X", default=False), "maybe",
         "VIGIL_X='maybe' is not a boolean"),
        (lambda: env_int("VIGIL_X", 1), "ten", "VIGIL_X='ten' is not a whole number"),
        (lambda: env_int("VIGIL_X", 1, minimum=1), "0",
         "VIGIL_X=0 is below the minimum"),
        (lambda: env_int("VIGIL_X", 1, maximum=200), "201",
         "VIGIL_X=201 is above the maximum of 200"),
        (lambda: env_url("VIGIL_X", "", schemes={"amqp"}), "redis://h",
         "VIGIL_X='redis://h' has scheme 'redis'"),
        (lambda: env_choice("VIGIL_X", "A", choices={"A"}), "B",
         "VIGIL_X='B' is not one of: A"),
    ],
)  # fmt: skip
def test_bad_values_name_the_variable(monkeypatch, call, raw, message):
    monkeypatch.setenv("VIGIL_X", raw)
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        call()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://x/y"),
        ("CELERY_BROKER_URL", "redis://localhost"),
        ("VIGIL_TIME_ZONE", "Mars/Olympus"),
        ("DEBUG", "perhaps"),
        ("PORT", "not-a-port"),
    ],
)
def test_the_process_refuses_to_start_on_a_bad_value(tmp_path, name, value):
    env = {**os.environ, "VIGIL_VAR_DIR": str(tmp_path), name: value}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"{name}=" in result.stderr


def base_url_with(tmp_path: Path, **variables: str) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PORT", "VIGIL_BASE_URL"}
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; print(settings.VIGIL_BASE_URL)"],
        cwd=ROOT, env={**env, "VIGIL_VAR_DIR": str(tmp_path), **variables},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return result.stdout.strip().splitlines()[-1]


def test_links_in_messages_point_at_the_port_make_run_serves_on(tmp_path):
    assert base_url_with(tmp_path) == "http://127.0.0.1:8000"
    assert base_url_with(tmp_path, PORT="8125") == "http://127.0.0.1:8125"


def test_a_public_base_url_wins_over_the_port(tmp_path):
    url = base_url_with(
        tmp_path, PORT="8125", VIGIL_BASE_URL="https://vigil.example.com/"
    )
    assert url == "https://vigil.example.com"
