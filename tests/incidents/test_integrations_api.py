"""Integrations through the REST API: created with a key, shown once, rotated."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from incidents.models import AlertEvent, Integration
from tests.conftest import api_client
from tests.incidents.ingest_helpers import post_json

URL = "/api/v1/integrations/"
ENQUEUE = "/v2/enqueue"
T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


def create(client, **fields: object):
    return client.post(
        URL, {"name": "Nagios", "kind": "pagerduty", "service": "website"} | fields
    )


def enqueue(key: str) -> int:
    body = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "disk",
        "payload": {"summary": "Disk full", "source": "db01", "severity": "error"},
    }
    return post_json(ENQUEUE, body).status_code


@pytest.fixture
def created(api, service) -> dict:
    response = create(api)
    assert response.status_code == 201, response.content
    return response.json()


def test_creating_an_integration_answers_its_key_and_urls(created, service):
    assert re.fullmatch(r"[0-9a-f]{32}", created["key"])
    assert created["key_prefix"] == created["key"][:8]
    assert created["urls"] == {
        "events": "http://testserver/v2/enqueue",
        "change_events": "http://testserver/v2/change/enqueue",
    }
    assert (created["kind"], created["service"]) == ("pagerduty", "website")
    integration = Integration.objects.get(pk=created["id"])
    assert integration.service == service
    assert integration.key_hash == Integration.hash_key(created["key"])
    assert created["key"] not in {integration.key_hash, integration.previous_key_hash}


def test_each_kind_answers_the_urls_of_its_endpoints(api, service):
    expected = {
        "alertmanager": {"webhook": "http://testserver/ingest/alertmanager/"},
        "generic": {"webhook": "http://testserver/ingest/generic/"},
        "heartbeat": {"ping": "http://testserver/ingest/heartbeat/"},
    }
    for kind, urls in expected.items():
        extra = {"heartbeat_interval": "00:05:00"} if kind == "heartbeat" else {}
        response = create(api, name=kind, kind=kind, **extra)
        assert response.status_code == 201, response.content
        assert response.json()["urls"] == urls


def test_the_key_is_never_shown_again(api, created):
    for path in (URL, f"{URL}{created['id']}/"):
        response = api.get(path)
        assert response.status_code == 200
        assert created["key"].encode() not in response.content
    detail = api.get(f"{URL}{created['id']}/").json()
    assert "key" not in detail
    assert detail["key_prefix"] == created["key"][:8]


def test_the_key_works_on_its_endpoint(created):
    assert enqueue(created["key"]) == 202
    assert AlertEvent.objects.get().integration_id == created["id"]


def error_field(body: dict) -> str:
    """The field a 400 names: `field` of a domain error, else the one key."""
    if "detail" in body:
        assert body["detail"]
        return body["field"]
    ((field, messages),) = body.items()
    assert messages
    return field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"severity_mapping": {"critical": "P9"}}, "severity_mapping"),
        ({"default_severity": "P9"}, "default_severity"),
        ({"field_mapping": {"owner": "team.name"}}, "field_mapping"),
        ({"kind": "heartbeat"}, "heartbeat_interval"),
        ({"kind": "heartbeat", "heartbeat_cron": "61 * * * *"}, "heartbeat_cron"),
        ({"kind": "heartbeat", "heartbeat_interval": "00:05:00",
          "heartbeat_timezone": "Mars/Olympus_Mons"}, "heartbeat_timezone"),
        ({"kind": "heartbeat", "heartbeat_cron": "*/5 * * * *",
          "heartbeat_timezone": "Nowhere/City"}, "heartbeat_timezone"),
        ({"colour": "red"}, "colour"),
        ({"kind": "nope"}, "kind"),
        ({"service": "nope"}, "service"),
        ({"name": ""}, "name"),
    ],
)  # fmt: skip
def test_invalid_settings_are_400_with_a_message(api, service, fields, field):
    response = create(api, **fields)
    assert response.status_code == 400
    assert error_field(response.json()) == field
    assert not Integration.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"heartbeat_interval": "-1 00:00:00"}, "heartbeat_interval"),
        ({"heartbeat_interval": "00:05:00", "heartbeat_grace": "-00:01:00"},
         "heartbeat_grace"),
    ],
)  # fmt: skip
def test_a_negative_heartbeat_interval_or_grace_is_400(api, service, fields, field):
    # Accepted, it would make the heartbeat overdue the moment it pings.
    response = create(api, kind="heartbeat", **fields)
    assert response.status_code == 400, response.json()
    assert error_field(response.json()) == field
    assert not Integration.objects.exists()


def test_an_integration_on_another_teams_service_is_400(service, outsider):
    response = create(api_client(outsider))
    assert response.status_code == 400
    assert error_field(response.json()) == "service"
    assert not Integration.objects.exists()


def test_patch_changes_settings(api, created):
    response = api.patch(
        f"{URL}{created['id']}/",
        {"auto_resolve": False, "severity_mapping": {"error": "P1"}},
    )
    assert response.status_code == 200, response.content
    assert response.json()["auto_resolve"] is False
    assert "key" not in response.json()
    integration = Integration.objects.get(pk=created["id"])
    assert integration.auto_resolve is False
    assert integration.severity_mapping == {"error": "P1"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "generic"}, "kind"),
        ({"service": "website"}, "service"),
        ({"severity_mapping": {"error": "P7"}}, "severity_mapping"),
    ],
)
def test_patch_cannot_change_kind_or_service_or_break_settings(
    api, created, changes, field
):
    response = api.patch(f"{URL}{created['id']}/", changes)
    assert response.status_code == 400
    assert error_field(response.json()) == field
    integration = Integration.objects.get(pk=created["id"])
    assert (integration.kind, integration.severity_mapping) == ("pagerduty", {})


def test_a_heartbeat_cannot_lose_its_schedule(api, service):
    beat = create(api, kind="heartbeat", heartbeat_interval="00:05:00").json()
    response = api.patch(f"{URL}{beat['id']}/", {"heartbeat_interval": None})
    assert response.status_code == 400
    assert error_field(response.json()) == "heartbeat_interval"
    assert Integration.objects.get().heartbeat_interval == timedelta(minutes=5)


def test_outsiders_see_nothing_of_an_integration(created, outsider):
    client = api_client(outsider)
    detail = f"{URL}{created['id']}/"
    assert client.get(URL).json()["count"] == 0
    assert client.get(detail).status_code == 404
    assert client.patch(detail, {"enabled": False}).status_code == 404
    assert client.post(f"{detail}rotate-key/").status_code == 404
    integration = Integration.objects.get()
    assert integration.enabled is True
    assert integration.key_hash == Integration.hash_key(created["key"])


def test_members_see_it_in_the_list(api, created):
    body = api.get(URL).json()
    assert [row["id"] for row in body["results"]] == [created["id"]]


def rotate(api, created: dict, **body: object) -> dict:
    response = api.post(f"{URL}{created['id']}/rotate-key/", body)
    assert response.status_code == 200, response.content
    return response.json()


def test_rotating_answers_a_new_key_and_keeps_the_old_one_for_a_day(api, created):
    with time_machine.travel(T0, tick=False):
        rotated = rotate(api, created)
    assert re.fullmatch(r"[0-9a-f]{32}", rotated["key"])
    assert rotated["key"] != created["key"]
    assert rotated["key_prefix"] == rotated["key"][:8]
    expires = T0 + timedelta(hours=24)
    assert datetime.fromisoformat(rotated["previous_key_expires_at"]) == expires

    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        assert enqueue(created["key"]) == 202
        assert enqueue(rotated["key"]) == 202


def test_after_the_overlap_only_the_new_key_works(api, created, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    with time_machine.travel(T0, tick=False):
        rotated = rotate(api, created, overlap_hours=2)
    with time_machine.travel(T0 + timedelta(hours=2, seconds=1), tick=False):
        assert enqueue(created["key"]) == 404
        assert enqueue(rotated["key"]) == 202
    assert AlertEvent.objects.count() == 1


def test_a_rotation_without_overlap_retires_the_old_key_at_once(api, created, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    with time_machine.travel(T0, tick=False):
        rotated = rotate(api, created, overlap_hours=0)
        assert enqueue(created["key"]) == 404
        assert enqueue(rotated["key"]) == 202


def test_a_disabled_integrations_key_is_unknown(api, created, settings):
    settings.VIGIL_INGEST_UNKNOWN_KEY_DELAY = 0
    detail = f"{URL}{created['id']}/"
    assert api.patch(detail, {"enabled": False}).status_code == 200
    assert enqueue(created["key"]) == 404
    assert not AlertEvent.objects.exists()
    assert api.patch(detail, {"enabled": True}).status_code == 200
    assert enqueue(created["key"]) == 202
