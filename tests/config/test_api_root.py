"""`/api/v1/`: the API root lists every resource the API has."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient


def routes(
    patterns: Iterable[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[str]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, route)
        else:
            yield route


def top_level_resources() -> set[str]:
    """Every `/api/v1/<name>/` that takes no argument, whoever routes it."""
    return {
        match.group(1)
        for route in routes(get_resolver().url_patterns)
        if (match := re.fullmatch(r"api/v1/([\w-]+)/?", route))
    }


def test_api_root_lists_every_resource_of_every_app(api: APIClient):
    answer = api.get("/api/v1/")
    assert answer.status_code == 200
    listed = answer.json()
    assert set(listed) == top_level_resources()
    assert {"incidents", "contact-methods", "schedules", "reports"} <= set(listed)
    for name, url in listed.items():
        assert url == f"http://testserver/api/v1/{name}/"


def test_every_resource_the_api_root_lists_answers(api: APIClient):
    for name, url in api.get("/api/v1/").json().items():
        method = api.options if name == "reports" else api.get  # reports: POST only
        assert method(url).status_code == 200, name


def test_api_root_asks_for_credentials():
    assert APIClient().get("/api/v1/").status_code == 401
