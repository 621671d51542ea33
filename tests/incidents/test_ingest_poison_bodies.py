"""Bodies that would poison the store are refused at the request: 400, nothing kept.

Nested deeper than VIGIL_JSON_MAX_DEPTH, or not standard JSON (NaN,
infinities, numbers that overflow a float), at every endpoint that reads a
body, and at the REST API's JSON parser.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from incidents.models import AlertEvent, ChangeEvent, Integration
from incidents.services import integration_create
from tests.incidents.ingest_helpers import post_json

DEEP = 950  # what the report sent: accepted once, then failing every worker
NON_STANDARD = {
    "NaN": "NaN is not a JSON number",
    "Infinity": "Infinity is not a JSON number",
    "-Infinity": "-Infinity is not a JSON number",
    "1e999": "the number 1e999 is too large",
    "-1e999": "the number -1e999 is too large",
    # Standard, but stored by PostgreSQL in no JSON or text value.
    '"a\\u0000b"': "the character \\u0000 (NUL) cannot be stored",
    '"\\ud800"': "a lone UTF-16 surrogate (\\ud800-\\udfff) is not a character",
}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def keys(service) -> dict[str, str]:
    every = {"heartbeat": {"heartbeat_interval": timedelta(minutes=5)}}
    return {
        kind: integration_create(
            name=kind, kind=kind, service=service, **every.get(kind, {})
        )[1]
        for kind in ("pagerduty", "alertmanager", "generic", "heartbeat")
    }


def bodies_with(keys: dict[str, str], value: str) -> dict[str, tuple[str, str, dict]]:
    """Each endpoint's request with `value` where a field of the event goes."""
    pd, bearer = keys["pagerduty"], {"HTTP_AUTHORIZATION": "Bearer {}"}
    return {
        "pagerduty": (
            "/v2/enqueue",
            f'{{"routing_key": "{pd}", "event_action": "trigger", "payload": '
            f'{{"summary": "s", "source": "h", "severity": "error", '
            f'"custom_details": {{"x": {value}}}}}}}',
            {},
        ),
        "pagerduty-change": (
            "/v2/change/enqueue",
            f'{{"routing_key": "{pd}", "payload": {{"summary": "deploy", '
            f'"custom_details": {{"x": {value}}}}}}}',
            {},
        ),
        "alertmanager": (
            "/ingest/alertmanager/",
            f'{{"version": "4", "status": "firing", "alerts": [], "x": {value}}}',
            {k: v.format(keys["alertmanager"]) for k, v in bearer.items()},
        ),
        "generic": (
            "/ingest/generic/",
            f'{{"title": "Disk full", "x": {value}}}',
            {k: v.format(keys["generic"]) for k, v in bearer.items()},
        ),
    }


ENDPOINTS = ["pagerduty", "pagerduty-change", "alertmanager", "generic"]


def assert_nothing_stored() -> None:
    assert not AlertEvent.objects.exists()
    assert not ChangeEvent.objects.exists()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_nested_950_deep_is_400_and_nothing_is_stored(keys, endpoint):
    path, body, headers = bodies_with(keys, nested(DEEP))[endpoint]
    response = post_json(path, body, **headers)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == ["nested deeper than 64 levels"]
    assert_nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_deeper_than_the_interpreter_can_parse_is_400_not_500(keys, endpoint):
    path, body, headers = bodies_with(keys, nested(100_000))[endpoint]
    response = post_json(path, body, **headers)
    assert response.status_code == 400, response.content
    assert_nothing_stored()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("value", sorted(NON_STANDARD))
def test_non_standard_or_unstorable_values_are_400_and_nothing_is_stored(
    keys, endpoint, value
):
    path, body, headers = bodies_with(keys, value)[endpoint]
    response = post_json(path, body, **headers)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [NON_STANDARD[value]]
    assert_nothing_stored()


def test_the_depth_limit_is_the_settings(keys, settings):
    settings.VIGIL_JSON_MAX_DEPTH = 10
    path, body, headers = bodies_with(keys, nested(9))["generic"]
    assert post_json(path, body, **headers).status_code == 202  # 1 + 9 levels
    path, body, headers = bodies_with(keys, nested(10))["generic"]
    response = post_json(path, body, **headers)
    assert response.json()["errors"] == ["nested deeper than 10 levels"]
    assert AlertEvent.objects.count() == 1


def test_brackets_inside_strings_do_not_count(keys):
    path, body, headers = bodies_with(keys, '"' + "[{" * 500 + '\\"]"')["generic"]
    assert post_json(path, body, **headers).status_code == 202
    assert AlertEvent.objects.get().payload["x"] == "[{" * 500 + '"]'


def test_a_heartbeat_ignores_its_body_however_deep(keys):
    response = post_json(
        "/ingest/heartbeat/",
        nested(DEEP),
        HTTP_AUTHORIZATION=f"Bearer {keys['heartbeat']}",
    )
    assert response.status_code == 200
    assert Integration.objects.get(kind="heartbeat").last_ping_at is not None
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (nested(DEEP), "nested deeper than 64 levels"),
        (nested(100_000), "nested deeper than 64 levels"),
        ('{"title": NaN}', "NaN is not a JSON number"),
        ('{"title": 1e999}', "the number 1e999 is too large"),
    ],
)
def test_the_rest_api_refuses_poison_json_with_400(api, body, error):
    response = api.post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"] == f"JSON parse error - {error}"
