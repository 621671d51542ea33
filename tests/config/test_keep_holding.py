"""Controls that held when Vigil was probed, kept holding by a test each.

The rest of the controls listed in docs/security.md have tests of their own
in the folders of what they guard.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import staff_client
from tests.factories import declare

SCRIPT = '<script>alert("x")</script>'


@pytest.fixture
def session_api(responder: User) -> APIClient:
    """The API as a browser signed in to the admin calls it: by session."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(responder)
    return client


def test_a_session_write_without_the_csrf_token_is_refused(session_api, service):
    incident = declare(service, "P2")

    answer = session_api.post(f"/api/v1/incidents/{incident.public_id}/acknowledge/")

    assert answer.status_code == 403
    assert "CSRF" in answer.json()["detail"]
    incident.refresh_from_db()
    assert incident.status == "triggered"


def test_a_session_write_with_the_csrf_token_goes_through(session_api, service):
    incident = declare(service, "P2")
    session_api.get("/admin/login/")  # a page with a form sets the CSRF cookie
    token = session_api.cookies["csrftoken"].value

    answer = session_api.post(
        f"/api/v1/incidents/{incident.public_id}/acknowledge/", HTTP_X_CSRFTOKEN=token
    )

    assert answer.status_code == 200, answer.content


@pytest.mark.parametrize("page", ["changelist", "change"])
def test_the_admin_escapes_what_an_alert_or_a_responder_wrote(page, service, responder):
    incident = declare(service, "P2", title=SCRIPT)
    browser: Client = staff_client(responder)
    url = "/admin/incidents/incident/"
    if page == "change":
        url += f"{incident.pk}/change/"

    html = browser.get(url).content.decode()

    assert SCRIPT not in html
    assert "&lt;script&gt;" in html
