"""The breach list over the API: newest first, a page at a time; every row
as CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import time_machine

from metrics import dashboard
from tests.conftest import staff_client
from tests.factories import ServiceFactory
from tests.metrics.conftest import T0, worked
from tests.openapi import assert_described

URL = "/api/v1/metrics/sla/breaches/"
MINUTE = timedelta(minutes=1)
LATER = T0 + timedelta(days=1)  # every open P2 is past its 4 h to acknowledge


def breached(service, count, start=0):
    """Declare `count` P2s a minute apart, never acknowledged: each breaches."""
    return [
        worked(service, "P2", at=T0 + (start + n) * MINUTE, title=f"Open {n}")
        for n in range(count)
    ]


def get(api, url, query=None):
    with time_machine.travel(LATER):
        response = api.get(url, query)
    assert response.status_code == 200, response.content
    return response


def every_page(api, query):
    """Follow `next` from the first page; return the pages' bodies."""
    pages = [get(api, URL, query).json()]
    while pages[-1]["next"] is not None:
        pages.append(get(api, pages[-1]["next"]).json())
    return pages


def test_the_first_page_holds_the_page_sizes_rows_newest_first(api, service):
    incidents = breached(service, 5)

    page = get(api, URL, {"page_size": 2}).json()

    assert page["count"] == 5
    assert [row["incident"] for row in page["results"]] == [
        incidents[4].public_id,
        incidents[3].public_id,
    ]
    assert page["previous"] is None
    assert "page=2" in page["next"]
    assert page["drills"] is False


def test_following_next_reaches_every_breach_once(api, service):
    incidents = breached(service, 5)

    pages = every_page(api, {"page_size": 2})

    rows = [row["incident"] for page in pages for row in page["results"]]
    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert rows == [incident.public_id for incident in reversed(incidents)]


def test_every_page_is_what_the_schema_describes(api, service):
    breached(service, 3)

    for page in every_page(api, {"page_size": 2}):
        assert_described(URL, "get", 200, page)


def test_filters_apply_on_every_page(api, service):
    other = ServiceFactory(slug="api", team=service.team)
    breached(service, 2)
    wanted = breached(other, 3, start=10)
    worked(other, "P3", at=T0, title="P3, not asked for")

    pages = every_page(api, {"page_size": 1, "service": "api", "severity": "P2"})

    assert len(pages) == 3
    assert {page["count"] for page in pages} == {3}
    assert [row["incident"] for page in pages for row in page["results"]] == [
        incident.public_id for incident in reversed(wanted)
    ]


def test_a_page_past_the_last_is_a_400_naming_it(api, service):
    breached(service, 1)

    with time_machine.travel(LATER):
        response = api.get(URL, {"page": 2})

    assert response.status_code == 400
    assert set(response.json()) == {"page"}


def test_the_csv_has_every_row_without_pages(api, service):
    incidents = breached(service, 5)

    response = get(api, URL, {"format": "csv", "page_size": 2})

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["incident"] for row in rows] == [
        incident.public_id for incident in reversed(incidents)
    ]
    assert {row["missed"] for row in rows} == {"acknowledge"}


def test_the_dashboard_lists_the_latest_breaches_newest_first(
    service, responder, monkeypatch
):
    monkeypatch.setattr(dashboard, "BREACHES_SHOWN", 2)
    oldest, middle, newest = breached(service, 3)

    with time_machine.travel(LATER):
        html = staff_client(responder).get("/admin/metrics/").content.decode()

    assert "Breaches (3, latest 2)" in html
    assert html.index(newest.public_id) < html.index(middle.public_id)
    assert oldest.public_id not in html
