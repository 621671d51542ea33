"""Every answer carries the browser protections: CSP, nosniff, referrer, frames."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from incidents.services import integration_create
from tests.conftest import api_client

pytestmark = pytest.mark.django_db
MINUTE = timedelta(minutes=1)


def directives(response) -> dict[str, set[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = (part.split() for part in policy.split(";") if part.strip())
    return {name: set(values) for name, *values in parsed}


def assert_protected(response) -> None:
    policy = directives(response)
    assert policy["default-src"] == {"'self'"}
    assert policy["script-src"] == {"'self'"}  # no inline script, no eval
    assert policy["frame-ancestors"] == {"'none'"}
    assert policy["object-src"] == {"'none'"}
    assert policy["base-uri"] == {"'none'"}
    assert policy["form-action"] == {"'self'"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_admin_pages_are_protected(responder):
    browser = Client()
    login = browser.get("/admin/login/")
    responder.is_staff = responder.is_superuser = True
    responder.save()
    browser.force_login(responder)
    home = browser.get("/admin/")

    assert (login.status_code, home.status_code) == (200, 200)
    assert_protected(login)
    assert_protected(home)


def test_api_answers_are_protected(responder):
    listed = api_client(responder).get("/api/v1/incidents/")
    refused = api_client().get("/api/v1/incidents/")

    assert (listed.status_code, refused.status_code) == (200, 401)
    assert_protected(listed)
    assert_protected(refused)


def test_ingest_answers_are_protected(service, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    _, key = integration_create(
        name="hb", kind="heartbeat", service=service, heartbeat_interval=MINUTE
    )
    accepted = Client().post("/ingest/heartbeat/", HTTP_AUTHORIZATION=f"Bearer {key}")
    unknown = Client().post(
        "/ingest/heartbeat/", HTTP_AUTHORIZATION="Bearer " + "0" * 32
    )

    assert (accepted.status_code, unknown.status_code) == (200, 404)
    assert_protected(accepted)
    assert_protected(unknown)


def test_the_respond_page_is_protected(db):
    response = Client().get("/respond/not-a-link/")

    assert response.status_code == 410
    assert_protected(response)


def test_the_api_docs_run_no_inline_script(responder):
    browser = Client()
    browser.force_login(responder)
    page = browser.get("/api/docs/")
    script = browser.get("/api/docs/?script=")

    assert page.status_code == 200
    assert_protected(page)
    html = page.content.decode()
    tags = re.findall(r"<script\b[^>]*>", html)
    assert tags
    assert all(" src=" in tag for tag in tags), tags
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
