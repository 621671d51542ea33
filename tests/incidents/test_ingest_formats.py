"""The ingest formats registry: every format's kind is one the models store,
and every URL of a format takes the integration key where the format says."""

from __future__ import annotations

import pytest

from incidents.ingest.formats import FORMATS
from incidents.ingest.signals import KeyPlace
from incidents.models import AlertEvent, Integration
from tests.incidents.ingest_helpers import post_json

ROUTES = [
    pytest.param(format_, route, id=route)
    for format_ in FORMATS.values()
    for route, _, _, _ in format_.routes
]


def test_every_format_is_an_event_source_the_models_store():
    assert set(FORMATS) <= set(AlertEvent.Source.values)


def test_every_format_with_urls_is_a_kind_of_integration():
    with_urls = {kind for kind, format_ in FORMATS.items() if format_.routes}
    assert with_urls <= set(Integration.Kind.values)


@pytest.mark.django_db
@pytest.mark.parametrize(("format_", "route"), ROUTES)
def test_a_request_without_its_key_is_refused_as_its_format_says(format_, route):
    response = post_json(f"/{route}", {"summary": "Disk full"})

    body = response.json()
    if format_.key_place is KeyPlace.ROUTING_KEY:
        assert (response.status_code, body["errors"]) == (
            400,
            ["'routing_key' is missing or blank"],
        )
    else:
        assert (response.status_code, body["message"]) == (
            401,
            "Missing integration key",
        )
    assert not AlertEvent.objects.exists()
