"""The JSON endpoints in Statuspage's v2 shapes, and the Atom/RSS feeds.

The shapes are checked against a JSON Schema of Statuspage's documented
responses (tests/statuspage/fixtures/), which a documented example response
also passes; feeds are read by feedparser, as feed readers do.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import feedparser
import jsonschema
import pytest
from django.utils import timezone

from incidents.services import maintenance_window_create
from tests.factories import declare
from tests.statuspage.conftest import make_public, post_update
from tests.statuspage.test_page import PRIVATE_WORDS

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads((FIXTURES / "statuspage_v2.schema.json").read_text())
ENDPOINTS = [
    "summary.json",
    "status.json",
    "incidents.json",
    "scheduled-maintenances.json",
]


def validate(document: object, endpoint: str) -> None:
    schema = {"$defs": SCHEMA["$defs"], **SCHEMA["endpoints"][endpoint]}
    jsonschema.validate(
        document, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.fixture
def busy(outage, api_service, private_service, responder):
    """An open public incident, a resolved one, maintenance, private things."""
    now = timezone.now()
    old = declare(api_service, "P2", title="slow search idx-3", by=responder)
    old = make_public(old, "Slow search", responder)
    post_update(old, "Search is slow for some customers.")
    old.status, old.resolved_at = "resolved", now
    old.save()
    post_update(old, "Search is back to normal.", status="resolved")
    declare(private_service, "P0", title="Billing reconciler stuck", by=responder)
    maintenance_window_create(
        service=api_service, starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2), reason="Database upgrade", by=responder,
    )  # fmt: skip
    return outage


def test_the_schema_fixture_accepts_a_documented_statuspage_response():
    validate(
        json.loads((FIXTURES / "summary.example.json").read_text()), "summary.json"
    )


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_has_statuspages_shape_and_no_private_words(
    client, busy, endpoint
):
    answer = client.get(f"/status/api/v2/{endpoint}")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/json"
    validate(answer.json(), endpoint)
    for words in PRIVATE_WORDS:
        assert words not in answer.content.decode()


def test_summary_lists_components_open_incidents_and_upcoming_maintenance(client, busy):
    summary = client.get("/status/api/v2/summary.json").json()

    assert [(c["name"], c["status"]) for c in summary["components"]] == [
        ("API", "partial_outage")
    ]
    assert [i["name"] for i in summary["incidents"]] == ["Elevated API errors"]
    assert summary["incidents"][0]["impact"] == "major"
    assert [u["body"] for u in summary["incidents"][0]["incident_updates"]] == [
        "We are investigating elevated error rates."
    ]
    assert [m["status"] for m in summary["scheduled_maintenances"]] == ["scheduled"]
    assert summary["status"] == {
        "indicator": "major",
        "description": "Partial System Outage",
    }


def test_incidents_json_has_resolved_ones_too_newest_updates_first(client, busy):
    incidents = client.get("/status/api/v2/incidents.json").json()["incidents"]
    resolved = next(i for i in incidents if i["name"] == "Slow search")

    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"]
    assert resolved["impact"] == "minor"
    assert [u["status"] for u in resolved["incident_updates"]] == [
        "resolved",
        "investigating",
    ]


def test_status_json_is_all_operational_without_public_incidents(client, db):
    status = client.get("/status/api/v2/status.json").json()

    assert status["status"] == {
        "indicator": "none",
        "description": "All Systems Operational",
    }


def test_json_answers_304_to_its_etag(client, busy):
    first = client.get("/status/api/v2/summary.json")
    again = client.get("/status/api/v2/summary.json", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304


@pytest.mark.parametrize(("path", "version"), [("feed.atom", "atom10"),
                                                ("feed.rss", "rss20")])  # fmt: skip
def test_feeds_are_read_by_a_real_feed_parser(client, busy, path, version):
    answer = client.get(f"/status/{path}")
    feed = feedparser.parse(answer.content)

    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == version
    titles = [entry.title for entry in feed.entries]
    assert set(titles) == {"Elevated API errors", "Slow search"}
    text = answer.content.decode()
    assert "Search is back to normal." in text
    for words in PRIVATE_WORDS:
        assert words not in text
    assert (
        client.get(f"/status/{path}", HTTP_IF_NONE_MATCH=answer["ETag"]).status_code
        == 304
    )
