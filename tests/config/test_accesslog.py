"""Access logs without secrets (config/accesslog.py, config/gunicorn.py)."""

from __future__ import annotations

import http.client
import logging
import subprocess
import sys
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bench.embedded import ROOT, free_port
from config.accesslog import RedactUvicornAccess, redact, redact_links

KEY = "Rk3v9QxW2mTz8LpA0sYbNc4dEf6gHj1K"
# What an acknowledge link's token looks like (signed, compressed data).
LINK_TOKEN = ".eJyLVjI0MjKwNDJQ0lEqS8wpTgUAMe4FYw:1vRzKx:Qm3kP2a_b-Zt9yWc4LdE"


@pytest.mark.parametrize(
    ("target", "logged"),
    [
        (f"/ingest/heartbeat/?token={KEY}", "/ingest/heartbeat/?token=[redacted]"),
        (
            f"/ingest/generic/?a=1&token={KEY}&b=2",
            "/ingest/generic/?a=1&token=[redacted]&b=2",
        ),
        (f"/ingest/heartbeat/?tok%65n={KEY}", "/ingest/heartbeat/?tok%65n=[redacted]"),
        (f"/ical/users/{KEY}.ics", "/ical/users/[redacted].ics"),
        (f"/ical/schedules/{KEY}.ics?x=1", "/ical/schedules/[redacted].ics?x=1"),
        (f"/respond/{LINK_TOKEN}/", "/respond/[redacted]/"),
        (f"/respond/{LINK_TOKEN}/?x=1", "/respond/[redacted]/?x=1"),
        (f"/contact-test/{LINK_TOKEN}/", "/contact-test/[redacted]/"),
        ("/api/v1/incidents/?status=triggered", "/api/v1/incidents/?status=triggered"),
        (
            "/api/v1/incidents/?tokens=1&no_token=2",
            "/api/v1/incidents/?tokens=1&no_token=2",
        ),
        ("/ingest/heartbeat/?token", "/ingest/heartbeat/?token"),
        ("/", "/"),
    ],
)
def test_redact_replaces_secrets_and_keeps_the_rest(target, logged):
    assert redact(target) == logged


def test_uvicorn_access_lines_are_redacted(caplog):
    logger = logging.getLogger("tests.uvicorn.access")
    logger.addFilter(RedactUvicornAccess())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000", "GET", f"/ingest/heartbeat/?token={KEY}", "1.1", 202,
        )  # fmt: skip
    assert caplog.messages == [
        '127.0.0.1:5000 - "GET /ingest/heartbeat/?token=[redacted] HTTP/1.1" 202'
    ]


def test_django_request_log_lines_hide_a_calendar_feeds_token(client, db, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/ical/users/{KEY}.ics")
    assert response.status_code == 404
    assert caplog.messages == ["Not Found: /ical/users/[redacted].ics"]


def test_django_request_log_lines_hide_an_action_links_token(client, db, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/respond/{LINK_TOKEN}/")
    assert response.status_code == 410  # not a valid link
    assert caplog.messages == ["Gone: /respond/[redacted]/"]


def test_redact_links_hides_every_link_in_a_text():
    text = (
        f"Ack: http://vigil.example.com/respond/{LINK_TOKEN}/ "
        f'{{"resolve": "https://v.example/respond/{LINK_TOKEN.replace(":", "%3A")}/"}}'
    )
    assert redact_links(text) == (
        "Ack: http://vigil.example.com/respond/[redacted]/ "
        '{"resolve": "https://v.example/respond/[redacted]/"}'
    )


def test_gunicorn_access_atoms_are_redacted():
    from gunicorn.config import Config

    from config.gunicorn import Logger

    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/ingest/heartbeat/?token={KEY}",
        "PATH_INFO": "/ingest/heartbeat/",
        "QUERY_STRING": f"token={KEY}",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {KEY}")])
    response = SimpleNamespace(status="202 Accepted", headers=[], sent=10)
    atoms = Logger(Config()).atoms(response, request, environ, timedelta(0))
    assert KEY not in repr(atoms)
    assert atoms["r"] == "POST /ingest/heartbeat/?token=[redacted] HTTP/1.1"
    assert atoms["q"] == "token=[redacted]"


def test_gunicorn_as_configured_logs_requests_without_the_key(tmp_path):
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = {"PATH": "/usr/bin:/bin", "VIGIL_VAR_DIR": str(tmp_path)}
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn",
             "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--access-logfile", "-"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                # GET: the endpoint takes POST only, so no database is needed.
                conn.request("GET", f"/v2/enqueue?token={KEY}")
                assert conn.getresponse().status == 405
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            finally:
                conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    assert "GET /v2/enqueue?token=[redacted] HTTP/1.1" in text, text
    assert KEY not in text
