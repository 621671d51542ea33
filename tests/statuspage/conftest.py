"""Fixtures for the public status page: a public service, a public incident
with public and internal updates, a drill, and the helpers that post updates
and announce them as the posting service does (the signal, after commit)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import caches

from incidents.models import Incident, Service, StatusUpdate
from incidents.services import incident_update
from incidents.signals import status_update_posted
from notifications.statuspage.cache import invalidate
from tests.factories import ServiceFactory, declare
from tests.notifications.conftest import (  # noqa: F401 - fixtures
    _no_remote_connections,
    allow_loopback,
    http_receiver,
    make_http_receiver,
    smtp_server,
)

PUBLIC = StatusUpdate.Audience.PUBLIC
INTERNAL = StatusUpdate.Audience.INTERNAL


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    caches["statuspage"].clear()
    invalidate()


@pytest.fixture
def api_service(team: Any) -> Service:
    return ServiceFactory(
        name="api-gateway-7", slug="api", team=team, is_public=True,
        public_name="API",
    )  # fmt: skip


@pytest.fixture
def private_service(team: Any) -> Service:
    return ServiceFactory(name="Billing reconciler", slug="billing", team=team)


def make_public(incident: Incident, title: str, by: User) -> Incident:
    return incident_update(incident=incident, by=by, is_public=True, public_title=title)


def post_update(
    incident: Incident,
    text: str,
    *,
    audience: str = PUBLIC,
    announce: bool = True,
    **fields: Any,
) -> StatusUpdate:
    """Write an update and send the signal, as the posting service does."""
    update = StatusUpdate.objects.create(
        incident=incident,
        status=fields.pop("status", incident.status),
        text=text,
        audience=audience,
        **fields,
    )
    if announce:
        status_update_posted.send(
            StatusUpdate, incident=incident, update=update, event=None,
            message_kind="update",
        )  # fmt: skip
    return update


@pytest.fixture
def outage(api_service: Service, responder: User) -> Incident:
    """A public P1 on the API, with one public and one internal update."""
    incident = declare(
        api_service, "P1", title="db-7 primary OOM, failover to replica",
        by=responder, summary="Internal: Alice restarted db-7",
    )  # fmt: skip
    incident = make_public(incident, "Elevated API errors", responder)
    post_update(incident, "We are investigating elevated error rates.")
    post_update(incident, "Alice Smith is failing over db-7 by hand", audience=INTERNAL)
    return incident
